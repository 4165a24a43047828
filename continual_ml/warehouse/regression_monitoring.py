"""A regression champion's monitoring per partition: drift of its numbers and of the target,
realized and estimated error, and its served interval's coverage.

A table of its own beside `performance_history` (whose accuracy columns a number has none of),
written under the same claim, since both are `model_performance`'s.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from continual_ml.warehouse.claims import keyed_write
from continual_ml.warehouse.sql import insert_row, retried_on_conflict

REGRESSION_PERFORMANCE_TABLE = """
CREATE TABLE IF NOT EXISTS regression_performance (
    partition_date DATE PRIMARY KEY, champion_version INTEGER, n_rows INTEGER,
    n_labelled INTEGER, error_metric VARCHAR,
    prediction_drift_score DOUBLE, prediction_drifted BOOLEAN,
    target_drift_score DOUBLE, target_drifted BOOLEAN,
    estimated_mae DOUBLE, estimated_rmse DOUBLE, realized_mae DOUBLE, realized_rmse DOUBLE,
    realized_error_sd DOUBLE, estimate_relative_error DOUBLE, estimate_tolerance DOUBLE,
    estimate_within_tolerance BOOLEAN, interval_level DOUBLE, interval_rows INTEGER,
    interval_coverage DOUBLE, interval_mean_width DOUBLE,
    computed_at TIMESTAMP DEFAULT current_timestamp
);
"""


@retried_on_conflict
def record_regression_performance(conn: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Replace what was measured for each row's partition, all together."""
    with keyed_write(conn, "performance_history"):
        for row in rows:
            conn.execute(
                "DELETE FROM regression_performance WHERE partition_date = ?",
                [row["partition_date"]],
            )
            insert_row(conn, "regression_performance", {**row, "computed_at": datetime.now()})


def labelled_days_of(conn: duckdb.DuckDBPyConnection, champion_version: int) -> pd.DataFrame:
    """The champion's partitions whose labels have landed, oldest first: its estimate's record."""
    return conn.execute(
        "SELECT * FROM regression_performance WHERE champion_version = ? "
        "AND realized_mae IS NOT NULL AND estimated_mae IS NOT NULL ORDER BY partition_date",
        [champion_version],
    ).df()


def holdout_with_features(conn: duckdb.DuckDBPyConnection, version: int) -> pd.DataFrame:
    """A model's holdout rows with their features, truth and the model's own prediction: the
    labelled reference its loss estimate is fitted on. One row per row id, should observations
    hold a repeated one (flagged at ingestion, not removed)."""
    return conn.execute(
        "SELECT o.*, h.truth, h.candidate_prediction FROM regression_holdout AS h "
        "JOIN observations AS o USING (row_id) WHERE h.candidate_version = ? "
        "QUALIFY row_number() OVER (PARTITION BY h.row_id ORDER BY o.event_time) = 1 "
        "ORDER BY h.row_id",
        [version],
    ).df()
