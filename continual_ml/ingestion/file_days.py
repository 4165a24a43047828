"""Which days a landed file covers, read cheaply before it is ingested."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from continual_ml.ingestion.files import format_of_name
from continual_ml.ingestion.sql_text import identifier

MAX_DAYS_LISTED = 2  # one day is all a caller needs to know about; two means "several"


def days_in_file(path: Path, event_time_column: str) -> list[date] | None:
    """The UTC days of the file's event times, or None when the file cannot be read as such.

    Only a routing hint: ingestion checks every row again and quarantines what is wrong, so a
    file this cannot read is simply left to the general ingestion path.
    """
    readers = {"parquet": "read_parquet(?)", "csv": "read_csv(?, all_varchar = true)"}
    reader = readers.get(format_of_name(path))
    if reader is None:
        return None
    column = identifier(event_time_column)
    try:
        with duckdb.connect() as conn:
            conn.execute("SET TimeZone = 'UTC'")
            rows = conn.execute(
                f"SELECT DISTINCT CAST(CAST({column} AS TIMESTAMPTZ) AS DATE) AS day "
                f"FROM {reader} ORDER BY day LIMIT {MAX_DAYS_LISTED}",
                [str(path)],
            ).fetchall()
    except duckdb.Error:
        return None
    days = [day for (day,) in rows]
    return None if not days or None in days else days
