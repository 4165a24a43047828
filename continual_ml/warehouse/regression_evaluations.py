"""A regression candidate's holdout evaluation: its scores by role and slice, and the per-row
predictions of both models the gate pairs.

Tables of their own, not columns of `evaluation_scores` and `holdout_predictions`: those hold
classification scores and integer truths, and a warehouse has no migrations, so a new column
would not reach the tables an existing warehouse already has.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from continual_ml.warehouse import registry
from continual_ml.warehouse.claims import keyed_write
from continual_ml.warehouse.score_rows import SCORE_KEY
from continual_ml.warehouse.sql import insert_frame, retried_on_conflict

REGRESSION_TABLES = f"""
CREATE TABLE IF NOT EXISTS regression_scores (
{SCORE_KEY}
    mae DOUBLE, rmse DOUBLE, r2 DOUBLE, mape DOUBLE,
    evaluated_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS regression_holdout (
    candidate_version INTEGER NOT NULL,
    row_id VARCHAR NOT NULL,
    truth DOUBLE NOT NULL,
    candidate_prediction DOUBLE NOT NULL,
    champion_version INTEGER,
    champion_prediction DOUBLE
);
"""


@retried_on_conflict
def replace_regression_evaluation(
    conn: duckdb.DuckDBPyConnection,
    candidate_version: int,
    scores: pd.DataFrame,
    holdout: pd.DataFrame,
    metrics: dict,
) -> None:
    """Store (replace) a candidate's scores, per-row holdout predictions and headline metrics
    (JSON-safe, see `models.metric_values`), under the claim of `evaluation_scores`."""
    with keyed_write(conn, "evaluation_scores"):
        for table, frame in (("regression_scores", scores), ("regression_holdout", holdout)):
            conn.execute(f"DELETE FROM {table} WHERE candidate_version = ?", [candidate_version])
            insert_frame(
                conn, table, frame, stamp="evaluated_at" if table == "regression_scores" else None
            )
        conn.execute(
            "UPDATE model_registry SET metrics = ? WHERE version = ?",
            [json.dumps(metrics, allow_nan=False), candidate_version],
        )


def regression_holdout(conn: duckdb.DuckDBPyConnection, candidate_version: int) -> pd.DataFrame:
    """The candidate's per-row holdout predictions (and the champion's), by row id."""
    return conn.execute(
        "SELECT * FROM regression_holdout WHERE candidate_version = ? ORDER BY row_id",
        [candidate_version],
    ).df()


def refused_regression_comparisons(
    conn: duckdb.DuckDBPyConnection,
    champion_version: int,
    candidate_version: int,
    metric: str,
    limit: int,
) -> list[dict]:
    """The recorded details of the gate's newest `limit` refusals, by `metric`, of earlier
    regression candidates against the champion whose holdouts share no row with the
    candidate's or with each other's (pooled evidence must not count a row twice), as
    `registry.refused_comparisons` finds them for classification."""
    if limit <= 0:
        return []
    return registry.refused_comparisons(
        conn, champion_version, candidate_version, metric, limit, "regression_holdout"
    )
