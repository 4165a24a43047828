"""Landing the service's JSONL prediction logs: predictions, and feedback as labels."""

from __future__ import annotations

from pathlib import Path

import duckdb

from continual_ml.config import DatasetConfig
from continual_ml.ingestion import routing
from continual_ml.ingestion.core import IngestReport, Landed, StepHook, ingest
from continual_ml.ingestion.labels import label_values
from continual_ml.ingestion.readers import drop_rejects, lines_reader
from continual_ml.ingestion.rules import (
    Column,
    class_label,
    feature,
    label,
    number,
    row_identifier,
    timestamp,
)
from continual_ml.ingestion.sql_text import (
    Check,
    check,
    identifier,
    key_checks,
    literal,
    raw_alias,
    shown,
    value_alias,
)


def ingest_prediction_log(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    path: str | Path,
    source: str | None = None,
    *,
    on_step: StepHook | None = None,
) -> IngestReport:
    """Land a JSONL prediction log: predictions to `predictions`, feedback to `labels`, once.

    Refused lines: not JSON, not an object, an unknown `kind`, a field that breaks its rule
    (the features follow the dataset config), a prediction id repeated in the file or already
    ingested, feedback repeated with the same `received_at`. Feedback for a prediction not
    landed yet (its log comes later) is kept and waits for it; the report counts it as
    `waiting`.
    """
    return ingest(
        conn, config, path, source, on_step, kind="predictions", formats=("jsonl",), land=_land_log
    )


def _field(name: str) -> str:
    return f"s.doc->>{literal(name)}"


def _when(condition: str, column: Column) -> Column:
    """The column's checks, applied only to rows where `condition` holds."""
    guarded = tuple(Check(c.rule, f"({condition} AND {c.failed})", c.reason) for c in column.checks)
    return Column(column.name, column.raw, column.value, guarded)


def _probabilities(classes) -> Column:
    keys = sorted(str(c) for c in classes)
    probabilities = raw_alias("probabilities")
    each = [f"TRY_CAST({probabilities}->>{literal(k)} AS DOUBLE)" for k in keys]
    valid = (
        f"json_type({probabilities}) = 'OBJECT' "
        f"AND list_sort(json_keys({probabilities})) = [{', '.join(map(literal, keys))}] "
        + "".join(f"AND {p} BETWEEN 0 AND 1 " for p in each)
        + f"AND abs({' + '.join(each)} - 1) <= 1e-6"
    )
    reason = f"'probabilities: ' || coalesce({shown(probabilities)}, 'missing') || " + literal(
        f" must map each class {', '.join(keys)} to a probability, summing to 1"
    )
    check_ = Check("probabilities:distribution", f"NOT coalesce({valid}, false)", reason)
    raw = "s.doc->'probabilities'"
    return Column("probabilities", raw, raw, (check_,))


def _answer(config: DatasetConfig) -> tuple[Column, ...]:
    """What the service answered: a regression champion's finite number, or a classifier's
    probabilities and predicted class."""
    if config.regression:
        return (number("prediction", _field("prediction")),)
    return (
        _probabilities(config.classes),
        class_label("predicted_class", _field("predicted_class"), config.classes, nullable=False),
    )


def _land_log(conn, config, facts, ingestion, step):
    drop_rejects(conn)
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE ingest_log_lines AS "
        "SELECT line, CASE WHEN json_valid(line) THEN CAST(line AS JSON) END AS doc, "
        "doc->>'kind' AS kind "
        # blank lines (spaces, tabs, a stray CR) carry no record
        f"FROM {lines_reader(facts)} WHERE trim(line, ' \t\r') <> ''"
    )
    parsed = conn.execute("SELECT count(*) FROM ingest_log_lines").fetchone()[0]
    is_prediction = "__kind = 'prediction'"
    prediction_id = row_identifier("prediction_id", _field("prediction_id"))
    served_at = timestamp("served_at", _field("served_at"), "VARCHAR")
    model_version = number("model_version", _field("model_version"), minimum=0)
    columns = [
        prediction_id,
        served_at,
        model_version,
        number("latency_ms", _field("latency_ms"), minimum=0),
        *(feature(spec, f"s.doc->'features'->>{literal(spec.name)}") for spec in config.features),
        *_answer(config),
        Column("row_id", _field("row_id"), _field("row_id"), ()),
    ]
    predictions_only = "(SELECT * FROM ingest_log_lines WHERE kind = 'prediction') AS s"
    keys = routing.count_keys(
        conn,
        routing.typed_rows(predictions_only, (prediction_id, served_at)),
        key=value_alias("prediction_id"),
        day=f"CAST({value_alias('served_at')} AS DATE)",
        taken="SELECT prediction_id AS key FROM predictions",
    )
    step("keys")
    version = value_alias("model_version")
    record_checks = (
        check(
            "model_version:integer",
            f"{version} <> floor({version})",
            f"'model_version: ' || {shown(version)} || ' is not an integer'",
        ),
        *key_checks("prediction_id", value_alias("prediction_id"), "predictions"),
    )
    day = f"CASE WHEN {is_prediction} THEN CAST({value_alias('served_at')} AS DATE) END"
    predictions = routing.RowPlan(
        source=f"ingest_log_lines AS s{keys.join(prediction_id.value)}",
        columns=tuple(_when(is_prediction, c) for c in columns),
        table="predictions",
        values={
            "ingestion_id": str(ingestion.ingestion_id),
            "partition_date": day,
            "model_version": f"CAST({version} AS BIGINT)",
            **{
                identifier(c.name): value_alias(c.name)
                for c in columns
                if c.name != "model_version"
            },
        },
        raw_row="coalesce(s.doc, to_json(s.line))",
        checks=(
            check("line:json", "__doc IS NULL", "'line is not valid JSON'"),
            check(
                "line:object",
                "json_type(__doc) <> 'OBJECT'",
                "'line is a JSON ' || lower(json_type(__doc)) || ', not an object'",
            ),
            check(
                "kind:unknown",
                f"json_type(__doc) = 'OBJECT' AND NOT {is_prediction}",
                "'kind: ' || coalesce(" + shown("__kind") + ", 'missing') || "
                "' is neither ''prediction'' nor ''feedback'''",
            ),
            *(Check(c.rule, f"({is_prediction} AND {c.failed})", c.reason) for c in record_checks),
        ),
        extras={"__doc": "s.doc", "__kind": "s.kind"} | keys.extras,
        row_id=prediction_id.value,
        partition=day,
        where="s.kind IS DISTINCT FROM 'feedback'",
    )
    good, quarantined = routing.land_rows(conn, predictions, ingestion, step)
    feedback_good, feedback_quarantined = _land_feedback(conn, config, ingestion, step)
    rejected = routing.land_rejects(conn, ingestion)
    waiting = conn.execute(
        "SELECT count(*) FROM labels WHERE ingestion_id = ? "
        "AND prediction_id NOT IN (SELECT prediction_id FROM predictions)",
        [ingestion.ingestion_id],
    ).fetchone()[0]
    return Landed(
        parsed,
        good + feedback_good,
        quarantined + feedback_quarantined,
        rejected,
        keys.per_day,
        waiting=waiting,
    )


def _land_feedback(conn, config, ingestion, step) -> tuple[int, int]:
    prediction_id = row_identifier("prediction_id", _field("prediction_id"))
    label_ = label(config, "label", _field("label"), nullable=False)  # a class, or a number
    received_at = timestamp("received_at", _field("received_at"), "VARCHAR")
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ingest_feedback_keys AS
        SELECT {prediction_id.value} AS key, {received_at.value} AS received_at, count(*) AS n
        FROM ingest_log_lines AS s WHERE kind = 'feedback' GROUP BY ALL HAVING n > 1
        """
    )
    said = f"'prediction_id: ' || {shown(value_alias('prediction_id'))}"
    plan = routing.RowPlan(
        source="ingest_log_lines AS s "
        f"LEFT JOIN predictions AS p ON p.prediction_id = {prediction_id.value} "
        f"LEFT JOIN ingest_feedback_keys AS k ON k.key = {prediction_id.value} "
        f"AND k.received_at IS NOT DISTINCT FROM {received_at.value}",
        columns=(prediction_id, label_, received_at),
        table="labels",
        values=label_values(
            ingestion,
            "__row_id",
            value_alias("received_at"),
            prediction_id=value_alias("prediction_id"),
        ),
        raw_row="s.doc",
        # feedback for a prediction not landed yet waits for it: no check on that
        checks=(
            check(
                "prediction_id:duplicate",
                "__copies > 1",
                f"{said} || ' has ' || __copies || ' feedback lines at the same received_at'",
            ),
        ),
        extras={"__row_id": "p.row_id", "__copies": "k.n"},
        row_id=prediction_id.value,
        where="s.kind = 'feedback'",
    )
    return routing.land_rows(conn, plan, ingestion, step)
