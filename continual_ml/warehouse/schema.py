"""Every table and view of the warehouse, created by one function, `apply_schema`.

Safe to apply again (tables `IF NOT EXISTS`, views replaced), and cheap: the warehouse records
the fingerprint of the schema last applied, and the same one is not applied twice. The tables
whose columns follow the dataset (observations, predictions, labels and the views over them) are
written from its configuration.

One schema serves both backends. DuckLake has no keys, sequences or computed defaults, so on it
`PRIMARY KEY` and `DEFAULT current_timestamp` are left out; no write relies on them: a keyed
write claims its table (`claims`) and replaces the key's rows in one transaction, ids come from
the writers, and writers set the timestamps they care about.
"""

from __future__ import annotations

import hashlib
import re

import duckdb

from continual_ml.config import DatasetConfig
from continual_ml.warehouse.claims import WRITE_CLAIMS
from continual_ml.warehouse.regression_evaluations import REGRESSION_TABLES
from continual_ml.warehouse.regression_monitoring import REGRESSION_PERFORMANCE_TABLE
from continual_ml.warehouse.score_rows import SCORE_KEY
from continual_ml.warehouse.sql import identifier, retried_on_conflict, transaction

# Monitoring, validation and windows: one row per partition (drift scores: per feature).
MONITORING_TABLES = """
CREATE TABLE IF NOT EXISTS data_windows (
    partition_date DATE NOT NULL, kind VARCHAR NOT NULL, window_start DATE NOT NULL,
    window_end DATE NOT NULL, champion_version INTEGER, n_rows INTEGER NOT NULL,
    PRIMARY KEY (partition_date, kind)
);
CREATE TABLE IF NOT EXISTS partition_validation (
    partition_date DATE PRIMARY KEY, passed BOOLEAN NOT NULL, failures JSON NOT NULL,
    n_rows INTEGER NOT NULL, checked_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS performance_history (
    partition_date DATE PRIMARY KEY, champion_version INTEGER, n_rows INTEGER,
    n_labelled INTEGER, prediction_drift_score DOUBLE, prediction_drifted BOOLEAN,
    label_drift_score DOUBLE, label_drifted BOOLEAN, estimated_accuracy DOUBLE,
    realized_accuracy DOUBLE, estimation_error DOUBLE, estimate_unreliable BOOLEAN,
    reliability_reason VARCHAR, computed_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS drift_reports (
    partition_date DATE PRIMARY KEY,
    reference_start DATE, reference_end DATE, champion_version INTEGER,
    n_features INTEGER, n_drifted INTEGER, drift_share DOUBLE,
    html_path VARCHAR, computed_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS drift_scores (
    partition_date DATE NOT NULL, feature VARCHAR NOT NULL, method VARCHAR NOT NULL,
    threshold DOUBLE, score DOUBLE, drifted BOOLEAN
);
"""

# The model registry: versions, promotions, evaluations and what the gate decided.
REGISTRY_TABLES = f"""
CREATE TABLE IF NOT EXISTS model_registry (
    version INTEGER PRIMARY KEY,
    partition_date DATE NOT NULL,
    sha256 VARCHAR NOT NULL,
    artifact BLOB NOT NULL,
    family VARCHAR NOT NULL,
    params JSON NOT NULL,
    features JSON NOT NULL,
    training_start DATE NOT NULL,
    training_end DATE NOT NULL,
    n_train INTEGER NOT NULL,
    data_sha256 VARCHAR NOT NULL,
    metrics JSON,
    mlflow_run_id VARCHAR,
    mlflow_model_version INTEGER,
    dagster_run_id VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'candidate',
    status_reason VARCHAR,
    promoted_by VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS promotions (
    id INTEGER PRIMARY KEY,
    decided_at TIMESTAMP DEFAULT current_timestamp,
    partition_date DATE,
    candidate_version INTEGER NOT NULL,
    previous_champion INTEGER,
    action VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    champion_version INTEGER
);
CREATE TABLE IF NOT EXISTS evaluation_scores (
{SCORE_KEY}
    accuracy DOUBLE, balanced_accuracy DOUBLE, precision DOUBLE, recall DOUBLE, f1 DOUBLE,
    roc_auc DOUBLE, pr_auc DOUBLE, log_loss DOUBLE, brier DOUBLE, ece DOUBLE,
    confusion_matrix JSON,
    evaluated_at TIMESTAMP DEFAULT current_timestamp
);
-- A multiclass model's precision, recall and F1 of each class on the whole holdout (NULL where
-- the holdout cannot define one: a class never predicted has no precision).
CREATE TABLE IF NOT EXISTS evaluation_class_scores (
    candidate_version INTEGER NOT NULL, role VARCHAR NOT NULL, model_version INTEGER NOT NULL,
    class VARCHAR NOT NULL, precision DOUBLE, recall DOUBLE, f1 DOUBLE, support INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS gate_results (
    candidate_version INTEGER PRIMARY KEY,
    champion_version INTEGER,
    passed BOOLEAN NOT NULL,
    reason VARCHAR NOT NULL,
    details JSON NOT NULL,
    decided_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS holdout_predictions (
    candidate_version INTEGER NOT NULL,
    row_id VARCHAR NOT NULL,
    truth INTEGER NOT NULL,
    candidate_proba DOUBLE NOT NULL,
    champion_version INTEGER,
    champion_proba DOUBLE
);
-- Each model's per-row gate score on rows it never trained on (its holdout, later labelled
-- days): the paired evidence a challenger accumulates against the champion. One row per model
-- and row, replaced when a day is scored again, so a re-run never counts a row twice.
CREATE TABLE IF NOT EXISTS shadow_scores (
    model_version INTEGER NOT NULL,
    row_id VARCHAR NOT NULL,
    partition_date DATE NOT NULL,
    metric VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    correct BOOLEAN NOT NULL,
    scored_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (model_version, row_id)
);
-- Multiclass models: each holdout row's class probabilities, a JSON list in the config's class
-- order. Their `holdout_predictions` hold the index of the true class as `truth` and each
-- model's probability of its predicted class as `*_proba`.
CREATE TABLE IF NOT EXISTS holdout_class_probabilities (
    candidate_version INTEGER NOT NULL,
    row_id VARCHAR NOT NULL,
    candidate_probabilities JSON NOT NULL,
    champion_probabilities JSON
);
"""

# One row every change of a model's status updates, so that two concurrent changes (two
# promotions, a registration and a promotion) conflict and one is retried: never two champions.
# Created with its row in one transaction, so whoever sees the table sees the row.
REGISTRY_LOCK = """
CREATE TABLE IF NOT EXISTS registry_writes (changes BIGINT NOT NULL);
INSERT INTO registry_writes SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM registry_writes);
"""

# The ingestion ledger: each file landed, and the files and rows refused.
LEDGER_TABLES = """
CREATE TABLE IF NOT EXISTS ingested_files (
    ingestion_id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, mode VARCHAR NOT NULL,
    source VARCHAR NOT NULL, path VARCHAR NOT NULL, size_bytes BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL, rows_in BIGINT NOT NULL, rows_good BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL, partitions DATE[], ingested_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantined_files (
    ingestion_id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, source VARCHAR NOT NULL,
    path VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, sha256 VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, quarantined_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantined_rows (
    ingestion_id BIGINT NOT NULL, kind VARCHAR NOT NULL, source VARCHAR NOT NULL,
    row_number BIGINT, row_id VARCHAR, partition_date DATE, raw JSON, reason VARCHAR NOT NULL,
    rules VARCHAR[], ingested_at TIMESTAMP NOT NULL
);
"""

# Drift references built once per champion window.
PROFILE_TABLES = """
CREATE TABLE IF NOT EXISTS reference_profiles (
    profile_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    feature VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    summary JSON NOT NULL,
    sorted_values BLOB,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (profile_id, feature)
);
"""

SQL_TYPES = {"numeric": "DOUBLE", "boolean": "BOOLEAN", "categorical": "VARCHAR"}


def row_columns(config: DatasetConfig) -> str:
    """The columns of `observations`: bookkeeping, every feature, and the label."""
    features = ", ".join(f"{identifier(f.name)} {SQL_TYPES[f.kind]}" for f in config.features)
    return (
        "row_id VARCHAR NOT NULL, partition_date DATE NOT NULL, event_time TIMESTAMP NOT NULL, "
        f"batch_id VARCHAR NOT NULL, {features}, {identifier(config.label)} {config.label_sql_type}"
    )


def dataset_tables(config: DatasetConfig) -> str:
    """`observations`, `labels`, `predictions` and the latest-label views over them."""
    features = ", ".join(f"{identifier(f.name)} {SQL_TYPES[f.kind]}" for f in config.features)
    label, label_type = identifier(config.label), config.label_sql_type
    # What the service answered: a classifier's classes, or a regression champion's number.
    answer = f"probabilities JSON NOT NULL, predicted_class {label_type} NOT NULL"
    if config.regression:
        answer = "prediction DOUBLE NOT NULL"
    return f"""
CREATE TABLE IF NOT EXISTS observations ({row_columns(config)});
CREATE TABLE IF NOT EXISTS labels (
    ingestion_id BIGINT NOT NULL, source VARCHAR NOT NULL, row_id VARCHAR,
    prediction_id VARCHAR, label {label_type} NOT NULL, labelled_at TIMESTAMP,
    ingested_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    prediction_id VARCHAR NOT NULL, ingestion_id BIGINT NOT NULL,
    partition_date DATE NOT NULL, served_at TIMESTAMP NOT NULL,
    model_version BIGINT NOT NULL, latency_ms DOUBLE NOT NULL, row_id VARCHAR,
    {features}, {answer}
);
-- Feedback that landed before its prediction takes the prediction's row once it lands.
CREATE OR REPLACE VIEW latest_labels AS
    SELECT coalesce(l.row_id, p.row_id) AS row_id, l.prediction_id, l.label,
           l.labelled_at, l.ingestion_id
    FROM labels AS l
    -- An equality alone: with `l.row_id IS NULL` in it, DuckDB joined by nested loops, and
    -- monitoring slowed with every label (4 s a read at 42,000). coalesce prefers l.row_id.
    LEFT JOIN predictions AS p ON p.prediction_id = l.prediction_id
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


def is_ducklake(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection's default catalog is a DuckLake."""
    row = conn.execute(
        "SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return row is not None and row[0] == "ducklake"


def for_ducklake(ddl: str) -> str:
    """The DDL without what DuckLake lacks: keys and computed defaults.

    >>> for_ducklake("id INTEGER PRIMARY KEY, at TIMESTAMP DEFAULT current_timestamp,")
    'id INTEGER, at TIMESTAMP,'
    >>> for_ducklake("(a INTEGER, b INTEGER, PRIMARY KEY (a, b))")
    '(a INTEGER, b INTEGER)'
    """
    ddl = re.sub(r",\s*PRIMARY KEY \([^)]*\)", "", ddl)
    return re.sub(r" (PRIMARY KEY|DEFAULT current_timestamp)\b", "", ddl)


def schema_statements(config: DatasetConfig) -> str:
    tables = (MONITORING_TABLES, REGISTRY_TABLES, REGISTRY_LOCK, WRITE_CLAIMS, LEDGER_TABLES)
    regression = (REGRESSION_TABLES, REGRESSION_PERFORMANCE_TABLE)
    return "\n".join((*tables, *regression, PROFILE_TABLES, dataset_tables(config)))


@retried_on_conflict
def apply_schema(conn: duckdb.DuckDBPyConnection, config: DatasetConfig) -> None:
    """Create every table and view the warehouse holds, where missing, in one transaction."""
    ddl = schema_statements(config)
    fingerprint = hashlib.sha256(ddl.encode()).hexdigest()
    if _applied(conn) == fingerprint:
        return
    with transaction(conn):
        conn.execute(for_ducklake(ddl) if is_ducklake(conn) else ddl)
        conn.execute("CREATE TABLE IF NOT EXISTS warehouse_schema (fingerprint VARCHAR NOT NULL)")
        conn.execute("DELETE FROM warehouse_schema")
        conn.execute("INSERT INTO warehouse_schema VALUES (?)", [fingerprint])


def _applied(conn: duckdb.DuckDBPyConnection) -> str | None:
    known = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND table_name = 'warehouse_schema'"
    ).fetchone()[0]
    if not known:
        return None
    rows = conn.execute("SELECT fingerprint FROM warehouse_schema").fetchall()
    return rows[0][0] if len(rows) == 1 else None
