"""The DuckDB warehouse: table layout and the reads and writes the assets make.

Every function takes an open connection, so the caller decides the transaction and the one
process that writes; nothing here opens the file itself.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from continual_ml.config import DatasetConfig

_FIXED_TABLES = """
CREATE TABLE IF NOT EXISTS models (
    version INTEGER PRIMARY KEY,
    partition_date DATE NOT NULL,
    sha256 VARCHAR NOT NULL,
    artifact BLOB NOT NULL,
    family VARCHAR NOT NULL,
    params JSON NOT NULL,
    training_start DATE NOT NULL,
    training_end DATE NOT NULL,
    n_train INTEGER NOT NULL,
    mlflow_run_id VARCHAR,
    dagster_run_id VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS evaluation_scores (
    partition_date DATE NOT NULL,
    candidate_version INTEGER NOT NULL,
    role VARCHAR NOT NULL,
    model_version INTEGER NOT NULL,
    n_holdout INTEGER NOT NULL,
    accuracy DOUBLE, f1 DOUBLE, roc_auc DOUBLE, log_loss DOUBLE,
    evaluated_at TIMESTAMP DEFAULT current_timestamp
);
CREATE SEQUENCE IF NOT EXISTS promotion_ids;
CREATE TABLE IF NOT EXISTS promotions (
    id INTEGER PRIMARY KEY DEFAULT nextval('promotion_ids'),
    decided_at TIMESTAMP DEFAULT current_timestamp,
    partition_date DATE NOT NULL,
    candidate_version INTEGER NOT NULL,
    previous_champion INTEGER,
    decision VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    champion_version INTEGER
);
CREATE TABLE IF NOT EXISTS data_windows (
    partition_date DATE NOT NULL, kind VARCHAR NOT NULL, window_start DATE NOT NULL,
    window_end DATE NOT NULL, champion_version INTEGER, n_rows INTEGER NOT NULL,
    PRIMARY KEY (partition_date, kind)
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


def _row_columns(config: DatasetConfig) -> str:
    features = ", ".join(
        f'"{f.name}" {"DOUBLE" if f.kind == "numeric" else "VARCHAR"}' for f in config.features
    )
    return (
        "row_id VARCHAR NOT NULL, partition_date DATE NOT NULL, event_time TIMESTAMP NOT NULL, "
        f'batch_id VARCHAR NOT NULL, {features}, "{config.label}" BIGINT'
    )


def ensure_schema(conn: duckdb.DuckDBPyConnection, config: DatasetConfig) -> None:
    conn.execute(_FIXED_TABLES)
    conn.execute(f"CREATE TABLE IF NOT EXISTS observations ({_row_columns(config)})")


def row_column_names(config: DatasetConfig) -> list[str]:
    return [
        "row_id",
        "partition_date",
        "event_time",
        "batch_id",
        *config.feature_names,
        config.label,
    ]


def replace_rows(
    conn: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame, partition: date | None = None
) -> int:
    """Swap one partition's rows (or the whole table) in one transaction: all old or all new."""
    conn.execute("BEGIN TRANSACTION")
    try:
        if partition is None:
            conn.execute(f"DELETE FROM {table}")
        else:
            conn.execute(f"DELETE FROM {table} WHERE partition_date = ?", [partition])
        conn.register("incoming_rows", rows)
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_rows")
        conn.unregister("incoming_rows")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(rows)


def read_rows(conn: duckdb.DuckDBPyConnection, table: str, start: date, end: date) -> pd.DataFrame:
    """Rows of `table` with partition dates in [start, end], oldest first."""
    return conn.execute(
        f"SELECT * FROM {table} WHERE partition_date BETWEEN ? AND ? ORDER BY event_time, row_id",
        [start, end],
    ).df()


_MODEL_COLUMNS = ("version", "sha256", "artifact", "family", "training_start", "training_end")


def load_model_row(conn: duckdb.DuckDBPyConnection, version: int) -> dict:
    row = conn.execute(
        f"SELECT {', '.join(_MODEL_COLUMNS)} FROM models WHERE version = ?", [version]
    ).fetchone()
    if row is None:
        raise LookupError(f"model version {version} is not in the registry")
    return dict(zip(_MODEL_COLUMNS, row, strict=True))


def current_champion(conn: duckdb.DuckDBPyConnection) -> dict | None:
    """The registry row of the model the last promotion decision left in charge."""
    row = conn.execute(
        "SELECT champion_version FROM promotions WHERE champion_version IS NOT NULL "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else load_model_row(conn, row[0])


def register_model(conn: duckdb.DuckDBPyConnection, **row) -> int:
    """Add a trained model to the registry under the next version number."""
    conn.execute("BEGIN TRANSACTION")
    try:
        version = conn.execute("SELECT coalesce(max(version), 0) + 1 FROM models").fetchone()[0]
        row["version"] = version
        columns = ", ".join(row)
        conn.execute(
            f"INSERT INTO models ({columns}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


def latest_model_for(conn: duckdb.DuckDBPyConnection, partition: date) -> dict:
    row = conn.execute(
        "SELECT max(version) FROM models WHERE partition_date = ?", [partition]
    ).fetchone()
    if row[0] is None:
        raise LookupError(f"no candidate model was trained for {partition}")
    return load_model_row(conn, row[0])


def record_window(
    conn: duckdb.DuckDBPyConnection,
    partition: date,
    kind: str,
    start: date,
    end: date,
    champion_version: int | None,
) -> int:
    """Record which partitions form the reference or current window as of `partition`."""
    n_rows = conn.execute(
        "SELECT count(*) FROM observations WHERE partition_date BETWEEN ? AND ?", [start, end]
    ).fetchone()[0]
    conn.execute(
        "INSERT OR REPLACE INTO data_windows VALUES (?, ?, ?, ?, ?, ?)",
        [partition, kind, start, end, champion_version, n_rows],
    )
    return n_rows


def read_window(conn: duckdb.DuckDBPyConnection, partition: date, kind: str) -> dict:
    row = conn.execute(
        "SELECT window_start, window_end, champion_version, n_rows FROM data_windows "
        "WHERE partition_date = ? AND kind = ?",
        [partition, kind],
    ).fetchone()
    if row is None:
        raise LookupError(f"no {kind} window recorded for {partition}")
    return dict(zip(("start", "end", "champion_version", "n_rows"), row, strict=True))


def evaluation_for(conn: duckdb.DuckDBPyConnection, candidate_version: int) -> dict[str, dict]:
    """The scores recorded for a candidate's evaluation, keyed by role."""
    table = conn.execute(
        "SELECT * FROM evaluation_scores WHERE candidate_version = ?", [candidate_version]
    ).df()
    if table.empty:
        raise LookupError(f"candidate v{candidate_version} has not been evaluated")
    return {row["role"]: row for row in table.to_dict("records")}


def record_promotion(conn: duckdb.DuckDBPyConnection, **row) -> None:
    columns = ", ".join(row)
    conn.execute(
        f"INSERT INTO promotions ({columns}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def record_drift(
    conn: duckdb.DuckDBPyConnection, partition: date, scores: pd.DataFrame, **summary
) -> None:
    """Replace a partition's drift summary and per-feature scores together."""
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute("DELETE FROM drift_scores WHERE partition_date = ?", [partition])
        conn.execute("DELETE FROM drift_reports WHERE partition_date = ?", [partition])
        conn.register("incoming_scores", scores)
        conn.execute("INSERT INTO drift_scores BY NAME SELECT * FROM incoming_scores")
        conn.unregister("incoming_scores")
        row = {"partition_date": partition, **summary}
        conn.execute(
            f"INSERT INTO drift_reports ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
