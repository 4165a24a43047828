"""The `labels` and `predictions` tables, their latest-label views, and labelled rows read back."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.warehouse.schema import apply_schema


def labelled_rows(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Observations in partitions [start, end] that have a label, with the newest label."""
    apply_schema(conn, config)
    return conn.execute(
        "SELECT * FROM labelled_observations WHERE partition_date BETWEEN ? AND ? "
        "ORDER BY event_time, row_id",
        [start, end],
    ).df()


def rows_with_labels(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Every observation in partitions [start, end], with its newest label where one arrived.

    Monitoring reads this: a day is measured before its labels land, and again after.
    """
    apply_schema(conn, config)
    return conn.execute(
        "SELECT * FROM observations_with_labels WHERE partition_date BETWEEN ? AND ? "
        "ORDER BY event_time, row_id",
        [start, end],
    ).df()


def labelled_partitions(conn: duckdb.DuckDBPyConnection, ingestion_id: int) -> dict[date, int]:
    """How many labels one ingestion (a label file, or feedback in a prediction log) gave the
    observations of each partition."""
    return dict(
        conn.execute(
            "SELECT o.partition_date, count(*) FROM labels AS l JOIN observations AS o "
            "USING (row_id) WHERE l.ingestion_id = ? GROUP BY ALL ORDER BY ALL",
            [ingestion_id],
        ).fetchall()
    )


def labelled_predictions(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Predictions served on days [start, end] that have feedback, with the newest label."""
    apply_schema(conn, config)
    return conn.execute(
        "SELECT * FROM labelled_predictions WHERE partition_date BETWEEN ? AND ? "
        "ORDER BY served_at, prediction_id",
        [start, end],
    ).df()
