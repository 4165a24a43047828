"""Which days a landed file covers, read cheaply before it is ingested."""

from __future__ import annotations

import csv
from contextlib import nullcontext
from datetime import date
from pathlib import Path

import duckdb

from continual_ml.ingestion.files import format_of_name
from continual_ml.ingestion.sql_text import identifier, literal

MAX_DAYS_LISTED = 2  # one day is all a caller needs to know about; two means "several"


def days_in_file(
    path: Path, event_time_column: str, conn: duckdb.DuckDBPyConnection | None = None
) -> list[date] | None:
    """The UTC days of the file's event times, or None when the file cannot be read as such.

    Only a routing hint: ingestion checks every row again and quarantines what is wrong, so a
    file this cannot read is simply left to the general ingestion path. Pass `conn` (an
    in-memory connection) to read many files without opening a connection for each.
    """
    reader = _reader(path)
    if reader is None:
        return None
    column = identifier(event_time_column)
    with nullcontext(conn) if conn is not None else duckdb.connect() as reading:
        try:
            reading.execute("SET TimeZone = 'UTC'")
            rows = reading.execute(
                f"SELECT DISTINCT CAST(CAST({column} AS TIMESTAMPTZ) AS DATE) AS day "
                f"FROM {reader} ORDER BY day LIMIT {MAX_DAYS_LISTED}",
                [str(path)],
            ).fetchall()
        except duckdb.Error:
            return None
    days = [day for (day,) in rows]
    return None if not days or None in days else days


def _reader(path: Path) -> str | None:
    """DuckDB's reader for the file. A CSV file is read in the dialect ingestion reads it in,
    its columns named by its header line: nothing sniffed, which would cost more than the
    read itself (about 20 ms a file against 3)."""
    file_format = format_of_name(path)
    if file_format == "parquet":
        return "read_parquet(?)"
    if file_format != "csv":
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, delimiter=",", quotechar='"'), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not header or len(set(header)) != len(header):
        return None
    columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in header)
    return (
        "read_csv(?, header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
        f"columns={{{columns}}}, ignore_errors=true)"
    )
