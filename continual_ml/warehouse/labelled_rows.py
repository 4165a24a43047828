"""Rows read back with their newest label: observations, and served predictions with feedback."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.warehouse.schema import apply_schema


def _days(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    view: str,
    order: str,
    start: date,
    end: date,
) -> pd.DataFrame:
    apply_schema(conn, config)
    return conn.execute(
        f"SELECT * FROM {view} WHERE partition_date BETWEEN ? AND ? ORDER BY {order}",
        [start, end],
    ).df()


def labelled_rows(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Observations in partitions [start, end] that have a label, with the newest label."""
    return _days(conn, config, "labelled_observations", "event_time, row_id", start, end)


def rows_with_labels(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Every observation in partitions [start, end], with its newest label where one arrived.

    Monitoring reads this: a day is measured before its labels land, and again after.
    """
    return _days(conn, config, "observations_with_labels", "event_time, row_id", start, end)


# The join on equality alone (a hash join; see `latest_labels` in schema.py); the prediction
# counts only for a label that names no row itself.
LABELLED_PARTITIONS_SQL = (
    "SELECT o.partition_date, count(*) FROM labels AS l "
    "LEFT JOIN predictions AS p ON p.prediction_id = l.prediction_id "
    "JOIN observations AS o ON o.row_id = coalesce(l.row_id, p.row_id) "
    "WHERE l.ingestion_id = $1 OR (l.row_id IS NULL AND p.ingestion_id = $1) "
    "GROUP BY ALL ORDER BY ALL"
)


def labelled_partitions(conn: duckdb.DuckDBPyConnection, ingestion_id: int) -> dict[date, int]:
    """How many labels one ingestion gave the observations of each partition: a label file's or
    feedback's own, and the waiting feedback a prediction log's predictions now place."""
    return dict(conn.execute(LABELLED_PARTITIONS_SQL, [ingestion_id]).fetchall())


def labelled_predictions(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Predictions served on days [start, end] that have feedback, with the newest label."""
    return _days(conn, config, "labelled_predictions", "served_at, prediction_id", start, end)
