"""The `labels` and `predictions` tables, their latest-label views, and labelled rows read back."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from continual_ml import ingestion_ledger, warehouse
from continual_ml.config import DatasetConfig
from continual_ml.validation import identifier

# feature columns of `predictions`, typed as `observations` types them
_SQL_TYPES = {"numeric": "DOUBLE", "boolean": "BOOLEAN", "categorical": "VARCHAR"}


def ensure_ingestion_schema(conn: duckdb.DuckDBPyConnection, config: DatasetConfig) -> None:
    """Create `observations`, the bookkeeping tables, `labels`, `predictions` and their views."""
    warehouse.ensure_schema(conn, config)
    ingestion_ledger.ensure_ingestion_schema(conn)
    features = ", ".join(f"{identifier(f.name)} {_SQL_TYPES[f.kind]}" for f in config.features)
    label, label_type = identifier(config.label), config.label_sql_type
    conn.execute(
        f"""
        CREATE TABLE IF NOT EXISTS labels (
            ingestion_id BIGINT NOT NULL, source VARCHAR NOT NULL, row_id VARCHAR,
            prediction_id VARCHAR, label {label_type} NOT NULL, labelled_at TIMESTAMP,
            ingested_at TIMESTAMP NOT NULL
        );
        CREATE TABLE IF NOT EXISTS predictions (
            prediction_id VARCHAR NOT NULL, ingestion_id BIGINT NOT NULL,
            partition_date DATE NOT NULL, served_at TIMESTAMP NOT NULL,
            model_version BIGINT NOT NULL, latency_ms DOUBLE NOT NULL, row_id VARCHAR,
            {features}, probabilities JSON NOT NULL, predicted_class {label_type} NOT NULL
        );
        -- Feedback that landed before its prediction takes the prediction's row once it lands.
        CREATE OR REPLACE VIEW latest_labels AS
            SELECT coalesce(l.row_id, p.row_id) AS row_id, l.prediction_id, l.label,
                   l.labelled_at, l.ingestion_id
            FROM labels AS l
            LEFT JOIN predictions AS p ON l.row_id IS NULL AND p.prediction_id = l.prediction_id
            QUALIFY row_number() OVER (
                PARTITION BY coalesce(l.row_id, p.row_id, 'prediction:' || l.prediction_id)
                ORDER BY coalesce(l.labelled_at, l.ingested_at) DESC, l.ingestion_id DESC) = 1;
        CREATE OR REPLACE VIEW observations_with_labels AS
            SELECT o.* REPLACE (coalesce(l.label, o.{label}) AS {label})
            FROM observations AS o
            LEFT JOIN (SELECT row_id, label FROM latest_labels WHERE row_id IS NOT NULL) AS l
                USING (row_id);
        CREATE OR REPLACE VIEW labelled_observations AS
            SELECT * FROM observations_with_labels WHERE {label} IS NOT NULL;
        CREATE OR REPLACE VIEW labelled_predictions AS
            SELECT p.*, l.label FROM predictions AS p
            JOIN (SELECT prediction_id, label FROM labels WHERE prediction_id IS NOT NULL
                  QUALIFY row_number() OVER (PARTITION BY prediction_id
                      ORDER BY labelled_at DESC NULLS LAST, ingestion_id DESC) = 1) AS l
                USING (prediction_id);
        """
    )


def labelled_rows(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Observations in partitions [start, end] that have a label, with the newest label."""
    ensure_ingestion_schema(conn, config)
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
    ensure_ingestion_schema(conn, config)
    return conn.execute(
        "SELECT * FROM observations_with_labels WHERE partition_date BETWEEN ? AND ? "
        "ORDER BY event_time, row_id",
        [start, end],
    ).df()


def labelled_partitions(conn: duckdb.DuckDBPyConnection, ingestion_id: int) -> dict[date, int]:
    """How many labels one ingestion gave the observations of each partition: a label file's or
    feedback's own, and the waiting feedback a prediction log's predictions now place."""
    return dict(
        conn.execute(
            "SELECT o.partition_date, count(*) FROM labels AS l "
            "LEFT JOIN predictions AS p ON l.row_id IS NULL AND p.prediction_id = l.prediction_id "
            "JOIN observations AS o ON o.row_id = coalesce(l.row_id, p.row_id) "
            "WHERE l.ingestion_id = $1 OR p.ingestion_id = $1 GROUP BY ALL ORDER BY ALL",
            [ingestion_id],
        ).fetchall()
    )


def labelled_predictions(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Predictions served on days [start, end] that have feedback, with the newest label."""
    ensure_ingestion_schema(conn, config)
    return conn.execute(
        "SELECT * FROM labelled_predictions WHERE partition_date BETWEEN ? AND ? "
        "ORDER BY served_at, prediction_id",
        [start, end],
    ).df()
