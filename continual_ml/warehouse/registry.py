"""The model registry in DuckDB: every trained version, its status, and the history of changes.

Statuses: candidate (trained, not yet decided), challenger (not yet shown better, scored in
shadow until the gate decides; one at a time), pending_approval (passed the gate, waiting for a
person), champion (exactly one at a time), retired (a former champion), rejected.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pandas as pd

from continual_ml.warehouse.claims import keyed_write
from continual_ml.warehouse.registry_lock import champion_version, lock_registry
from continual_ml.warehouse.sql import insert_frame, insert_row, retried_on_conflict, transaction

_COLUMNS = (
    "version",
    "partition_date",
    "sha256",
    "artifact",
    "family",
    "features",
    "training_start",
    "training_end",
    "mlflow_run_id",
    "mlflow_model_version",
    "dagster_run_id",
    "status",
    "metrics",
)


@retried_on_conflict
def register_model(conn: duckdb.DuckDBPyConnection, **row) -> int:
    """Add a trained model as a candidate under the next version number."""
    with transaction(conn):
        lock_registry(conn)
        version = conn.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM model_registry"
        ).fetchone()[0]
        now = datetime.now()
        insert_row(
            conn,
            "model_registry",
            {"version": version, **row, "created_at": now, "updated_at": now},
        )
    return version


def load_model_row(conn: duckdb.DuckDBPyConnection, version: int) -> dict:
    # fetchall, not fetchone: a result left open blocks registering a frame on the connection
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM model_registry WHERE version = ?", [version]
    ).fetchall()
    if not rows:
        raise LookupError(f"model version {version} is not in the registry")
    model = dict(zip(_COLUMNS, rows[0], strict=True))
    model["features"] = json.loads(model["features"])
    model["metrics"] = json.loads(model["metrics"]) if model["metrics"] else {}
    return model


def current_champion(conn: duckdb.DuckDBPyConnection) -> dict | None:
    row = conn.execute("SELECT version FROM model_registry WHERE status = 'champion'").fetchall()
    if len(row) > 1:
        raise RuntimeError(f"registry names {len(row)} champions: {row}")
    return load_model_row(conn, row[0][0]) if row else None


def latest_model_for(conn: duckdb.DuckDBPyConnection, partition: date) -> dict:
    row = conn.execute(
        "SELECT max(version) FROM model_registry WHERE partition_date = ?", [partition]
    ).fetchone()
    if row[0] is None:
        raise LookupError(f"no candidate model was trained for {partition}")
    return load_model_row(conn, row[0])


def previous_champion(conn: duckdb.DuckDBPyConnection) -> int | None:
    """The champion before the current one, from the promotion history."""
    rows = conn.execute(
        "SELECT champion_version FROM promotions WHERE action IN ('promoted', 'rolled_back', "
        "'approved') ORDER BY id DESC"
    ).fetchall()
    current = rows[0][0] if rows else None
    return next((v for (v,) in rows if v != current), None)


def set_status(
    conn: duckdb.DuckDBPyConnection,
    version: int,
    status: str,
    reason: str,
    promoted_by: str | None = None,
) -> None:
    conn.execute(
        "UPDATE model_registry SET status = ?, status_reason = ?, "
        "promoted_by = coalesce(?, promoted_by), updated_at = current_timestamp WHERE version = ?",
        [status, reason, promoted_by, version],
    )


def record_promotion(conn: duckdb.DuckDBPyConnection, **row) -> None:
    """A row of the promotion history, in the caller's transaction, which locked the registry."""
    promotion_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM promotions").fetchone()[0]
    insert_row(conn, "promotions", {"id": promotion_id, "decided_at": datetime.now(), **row})


def record_change(
    conn: duckdb.DuckDBPyConnection,
    version: int,
    status: str,
    action: str,
    reason: str,
    actor: str,
    *,
    partition_date: date | None,
    previous_champion: int | None,
    champion_version: int | None,
    promoted_by: str | None = None,
) -> None:
    """A version's new status and the history row saying why, in the caller's transaction."""
    lock_registry(conn)
    set_status(conn, version, status, reason, promoted_by=promoted_by)
    record_promotion(
        conn,
        partition_date=partition_date,
        candidate_version=version,
        previous_champion=previous_champion,
        action=action,
        reason=reason,
        actor=actor,
        champion_version=champion_version,
    )


@retried_on_conflict
def record_decision(
    conn: duckdb.DuckDBPyConnection,
    version: int,
    status: str,
    action: str,
    reason: str,
    actor: str,
    partition_date: date | None = None,
) -> None:
    """A decision that leaves the champion as it is: rejected, pending, or a refused approval."""
    with transaction(conn):
        lock_registry(conn)  # the champion read next is the one in charge at commit
        in_charge = champion_version(conn)
        unchanged = {"previous_champion": in_charge, "champion_version": in_charge}
        record_change(
            conn, version, status, action, reason, actor, partition_date=partition_date, **unchanged
        )


@retried_on_conflict
def replace_evaluation(
    conn: duckdb.DuckDBPyConnection,
    candidate_version: int,
    scores: pd.DataFrame,
    holdout: pd.DataFrame,
    metrics: dict,
    class_scores: pd.DataFrame | None = None,
) -> None:
    """Store a candidate's scores, the per-row holdout predictions and its headline metrics
    (JSON-safe: no NaN, see `training.metric_values`), and a multiclass model's per-class
    scores."""
    class_columns = [c for c in CLASS_PROBABILITIES if c in holdout.columns]
    tables = (
        ("evaluation_scores", scores),
        ("holdout_predictions", holdout.drop(columns=class_columns)),
        ("holdout_class_probabilities", holdout[["candidate_version", "row_id", *class_columns]]),
        ("evaluation_class_scores", class_scores),
    )
    with keyed_write(conn, "evaluation_scores"):
        for table, frame in tables:
            conn.execute(f"DELETE FROM {table} WHERE candidate_version = ?", [candidate_version])
            if frame is not None and (table != "holdout_class_probabilities" or class_columns):
                stamp = "evaluated_at" if table == "evaluation_scores" else None
                insert_frame(conn, table, frame, stamp=stamp)
        conn.execute(
            "UPDATE model_registry SET metrics = ? WHERE version = ?",
            [json.dumps(metrics, allow_nan=False), candidate_version],
        )


CLASS_PROBABILITIES = ("candidate_probabilities", "champion_probabilities")


def holdout_predictions(conn: duckdb.DuckDBPyConnection, candidate_version: int) -> pd.DataFrame:
    """The per-row holdout predictions; a multiclass model's have its class probabilities too."""
    rows = conn.execute(
        "SELECT * FROM holdout_predictions WHERE candidate_version = ? ORDER BY row_id",
        [candidate_version],
    ).df()
    classes = conn.execute(
        f"SELECT row_id, {', '.join(CLASS_PROBABILITIES)} FROM holdout_class_probabilities "
        "WHERE candidate_version = ?",
        [candidate_version],
    ).df()
    return rows if classes.empty else rows.merge(classes, on="row_id", how="left")


@retried_on_conflict
def record_gate(
    conn: duckdb.DuckDBPyConnection,
    candidate_version: int,
    champion_version: int | None,
    passed: bool,
    reason: str,
    details: dict,
) -> None:
    with keyed_write(conn, "gate_results"):
        conn.execute("DELETE FROM gate_results WHERE candidate_version = ?", [candidate_version])
        conn.execute(
            "INSERT INTO gate_results (candidate_version, champion_version, passed, reason, "
            "details, decided_at) VALUES (?, ?, ?, ?, ?, current_localtimestamp())",
            [candidate_version, champion_version, passed, reason, json.dumps(details, default=str)],
        )


def refused_comparisons(
    conn: duckdb.DuckDBPyConnection,
    champion_version: int,
    candidate_version: int,
    metric: str,
    limit: int,
    holdout_table: str = "holdout_predictions",
) -> list[dict]:
    """The recorded details of the gate's newest `limit` refusals, by `metric`, of earlier
    candidates against the champion whose holdouts (rows of `holdout_table`) share no row with
    the candidate's or with each other's: pooled evidence must not count a row twice (late
    labels can put two candidates' holdouts on the same day)."""
    refusals = conn.execute(
        "SELECT candidate_version, details FROM gate_results WHERE champion_version = ? "
        "AND candidate_version < ? AND NOT passed "
        # refusals before any statistics (a tampered artifact, another signature) record none
        "AND json_exists(details, '$.improvement_sd') "
        "AND json_extract_string(details, '$.metric') = ? ORDER BY candidate_version DESC",
        [champion_version, candidate_version, metric],
    ).fetchall()
    seen = _holdout_rows(conn, candidate_version, holdout_table)
    kept = []
    for version, details in refusals:
        rows = _holdout_rows(conn, version, holdout_table)
        if rows and not rows & seen:
            kept.append(json.loads(details))
            seen |= rows
        if len(kept) == limit:
            break
    return kept


def known_window(conn: duckdb.DuckDBPyConnection, champion: dict) -> tuple[date, date]:
    """The newest training window the champion is known to handle: what "no drift" means.

    Its own, until the gate refuses a challenger trained on a later window: the champion then
    did as well as a fresh model on that data, so a shift in it is learned (or harmless) and
    should stop counting as drift. Without this, a champion promoted just after a shift, on a
    window still mostly from before it, would see drift, and retrain, every day.
    """
    row = conn.execute(
        "SELECT m.training_start, m.training_end FROM gate_results AS g "
        "JOIN model_registry AS m ON m.version = g.candidate_version "
        "WHERE g.champion_version = ? AND NOT g.passed AND m.training_end > ? "
        # refusals before any statistics (a tampered artifact, another signature) prove nothing,
        # nor does a challenger still scored in shadow (not refused for good)
        "AND json_exists(g.details, '$.improvement_sd') "
        "AND coalesce(json_extract_string(g.details, '$.outcome'), '') <> 'keep' "
        "ORDER BY m.training_end DESC, g.candidate_version DESC LIMIT 1",
        [champion["version"], champion["training_end"]],
    ).fetchall()
    return row[0] if row else (champion["training_start"], champion["training_end"])


def _holdout_rows(conn: duckdb.DuckDBPyConnection, candidate_version: int, table: str) -> set[str]:
    rows = conn.execute(
        f"SELECT row_id FROM {table} WHERE candidate_version = ?", [candidate_version]
    ).fetchall()
    return {row_id for (row_id,) in rows}


def gate_result(conn: duckdb.DuckDBPyConnection, candidate_version: int) -> dict | None:
    row = conn.execute(
        "SELECT champion_version, passed, reason, details FROM gate_results "
        "WHERE candidate_version = ?",
        [candidate_version],
    ).fetchone()
    if row is None:
        return None
    keys = ("champion_version", "passed", "reason", "details")
    return {**dict(zip(keys, row, strict=True)), "details": json.loads(row[3] or "{}")}
