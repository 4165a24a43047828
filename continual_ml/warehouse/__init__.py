"""The DuckDB warehouse: table layout and the reads and writes the assets make.

Every function takes an open connection, so the caller decides the transaction and the one
process that writes; nothing here opens the file itself.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.warehouse.claims import keyed_write
from continual_ml.warehouse.sql import insert_frame, insert_row, retried_on_conflict


def row_column_names(config: DatasetConfig) -> list[str]:
    return [
        "row_id",
        "partition_date",
        "event_time",
        "batch_id",
        *config.feature_names,
        config.label,
    ]


def read_rows(conn: duckdb.DuckDBPyConnection, table: str, start: date, end: date) -> pd.DataFrame:
    """Rows of `table` with partition dates in [start, end], oldest first."""
    return conn.execute(
        f"SELECT * FROM {table} WHERE partition_date BETWEEN ? AND ? ORDER BY event_time, row_id",
        [start, end],
    ).df()


@retried_on_conflict
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
    with keyed_write(conn, "data_windows"):
        conn.execute(
            "DELETE FROM data_windows WHERE partition_date = ? AND kind = ?", [partition, kind]
        )
        conn.execute(
            "INSERT INTO data_windows VALUES (?, ?, ?, ?, ?, ?)",
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


def window_rows(conn: duckdb.DuckDBPyConnection, partition: date, kind: str) -> pd.DataFrame:
    """The observations in the `kind` window recorded for `partition`, oldest first."""
    window = read_window(conn, partition, kind)
    return read_rows(conn, "observations", window["start"], window["end"])


@retried_on_conflict
def record_performance(conn: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Replace the performance measured for each row's partition, all together."""
    with keyed_write(conn, "performance_history"):
        for row in rows:
            conn.execute(
                "DELETE FROM performance_history WHERE partition_date = ?", [row["partition_date"]]
            )
            insert_row(conn, "performance_history", {**row, "computed_at": datetime.now()})


@retried_on_conflict
def record_drift(
    conn: duckdb.DuckDBPyConnection, partition: date, scores: pd.DataFrame, **summary
) -> None:
    """Replace a partition's drift summary and per-feature scores together."""
    with keyed_write(conn, "drift_reports"):
        conn.execute("DELETE FROM drift_scores WHERE partition_date = ?", [partition])
        conn.execute("DELETE FROM drift_reports WHERE partition_date = ?", [partition])
        insert_frame(conn, "drift_scores", scores)
        insert_row(
            conn,
            "drift_reports",
            {"partition_date": partition, **summary, "computed_at": datetime.now()},
        )
