"""Per-row scores of models on rows they never trained on, and the pairs they make.

A challenger's evidence against the champion is the rows both were scored on, joined by row id:
written per model and row (replacing what was there), so scoring a day again, after late labels
or a re-run, changes its rows instead of adding them twice.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from continual_ml.warehouse.claims import keyed_write
from continual_ml.warehouse.sql import insert_frame, retried_on_conflict

COLUMNS = ("row_id", "partition_date", "score", "correct")


@retried_on_conflict
def record_scores(
    conn: duckdb.DuckDBPyConnection, model_version: int, metric: str, scores: pd.DataFrame
) -> int:
    """Store (replace) one model's scores on these rows; returns how many rows it holds now."""
    missing = [c for c in COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"shadow scores need the columns {missing}")
    frame = scores[list(COLUMNS)].assign(model_version=model_version, metric=metric)
    with keyed_write(conn, "shadow_scores"):
        conn.register("replaced_rows", frame[["row_id"]])
        conn.execute(
            "DELETE FROM shadow_scores WHERE model_version = ? "
            "AND row_id IN (SELECT row_id FROM replaced_rows)",
            [model_version],
        )
        conn.unregister("replaced_rows")
        insert_frame(conn, "shadow_scores", frame, stamp="scored_at")
    return conn.execute(
        "SELECT count(*) FROM shadow_scores WHERE model_version = ?", [model_version]
    ).fetchone()[0]


def paired_scores(
    conn: duckdb.DuckDBPyConnection, model: int, against: int, metric: str
) -> pd.DataFrame:
    """The rows both models were scored on by `metric`, oldest day first, shuffled within a day
    by a hash of the row id.

    Columns: partition_date, row_id, score, other_score, correct, other_correct.
    """
    return conn.execute(
        "SELECT a.partition_date, a.row_id, a.score, b.score AS other_score, a.correct, "
        "b.correct AS other_correct FROM shadow_scores AS a JOIN shadow_scores AS b "
        "ON a.row_id = b.row_id AND a.metric = b.metric "
        "WHERE a.model_version = ? AND b.model_version = ? AND a.metric = ? "
        # within a day in an order fixed in advance but unrelated to outcomes (see
        # decisions.confidence_sequence)
        "ORDER BY a.partition_date, md5(a.row_id)",
        [model, against, metric],
    ).df()


def daily_comparison(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per day: rows, each model's mean score and accuracy, from `paired_scores`."""
    if pairs.empty:
        return pd.DataFrame(
            columns=["partition_date", "n", "score", "other_score", "accuracy", "other_accuracy"]
        )
    return (
        pairs.groupby("partition_date", sort=True)
        .agg(
            n=("row_id", "size"),
            score=("score", "mean"),
            other_score=("other_score", "mean"),
            accuracy=("correct", "mean"),
            other_accuracy=("other_correct", "mean"),
        )
        .reset_index()
    )


@retried_on_conflict
def replace_shadow_evaluation(
    conn: duckdb.DuckDBPyConnection,
    challenger_version: int,
    champion_version: int,
    day,
    today: pd.DataFrame,
) -> None:
    """The day's shadow comparison (a `daily_comparison` row) in `evaluation_scores`, as slice
    ``shadow`` under the challenger's version, replacing that day's."""
    rows = [
        {
            "partition_date": day,
            "candidate_version": challenger_version,
            "role": role,
            "model_version": version,
            "slice": "shadow",
            "n": int(row["n"]),
            "accuracy": float(row[accuracy]),
        }
        for _, row in today.iterrows()
        for role, version, accuracy in (
            ("challenger", challenger_version, "accuracy"),
            ("champion", champion_version, "other_accuracy"),
        )
    ]
    with keyed_write(conn, "evaluation_scores"):
        conn.execute(
            "DELETE FROM evaluation_scores WHERE candidate_version = ? AND partition_date = ? "
            "AND slice = 'shadow'",
            [challenger_version, day],
        )
        if rows:
            insert_frame(conn, "evaluation_scores", pd.DataFrame(rows), stamp="evaluated_at")
