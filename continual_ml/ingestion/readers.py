"""How DuckDB reads a landed file: CSV, Parquet or JSON lines, keeping lines it cannot parse."""

from __future__ import annotations

import duckdb

from continual_ml.ingestion.files import FileFacts
from continual_ml.ingestion.sql_text import literal

REJECTS_TABLE = "ingest_reject_errors"


def csv_reader(facts: FileFacts, *, keep_rejects: bool) -> str:
    """DuckDB's CSV reader for the file: comma-separated, double quotes, every column as text.

    Nothing is sniffed: the header read by `inspect_file` names the columns, so a file with
    another delimiter shows up as missing columns rather than being guessed right or wrong.
    Lines that do not parse (too many or too few fields, a quote left open) are skipped by the
    reader; with `keep_rejects` they are kept in `REJECTS_TABLE` so they can be quarantined.
    """
    columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in facts.header)
    errors = (
        f"store_rejects=true, rejects_table={literal(REJECTS_TABLE)}, "
        "rejects_scan='ingest_reject_scans'"
        if keep_rejects
        else "ignore_errors=true"
    )
    return (
        f"read_csv({literal(str(facts.read_path))}, header=true, auto_detect=false, delim=',', "
        f"quote='\"', escape='\"', columns={{{columns}}}, {errors})"
    )


def lines_reader(facts: FileFacts) -> str:
    """DuckDB's CSV reader used to split a text file into lines, keeping what it cannot read.

    A NUL delimiter and no quoting make each line one field; `inspect_file` has already refused
    files that contain NUL bytes.
    """
    return (
        f"read_csv({literal(str(facts.read_path))}, header=false, auto_detect=false, "
        "columns={'line': 'VARCHAR'}, delim='\\0', quote='', escape='', store_rejects=true, "
        f"rejects_table={literal(REJECTS_TABLE)}, rejects_scan='ingest_reject_scans')"
    )


def parquet_reader(facts: FileFacts) -> str:
    return f"read_parquet({literal(str(facts.read_path))}, file_row_number=true)"


def source_types(conn: duckdb.DuckDBPyConnection, reader: str) -> dict[str, str]:
    """Column name -> DuckDB type of what `reader` yields (reads only metadata or the header)."""
    return {row[0]: row[1] for row in conn.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}


def drop_rejects(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {REJECTS_TABLE}; DROP TABLE IF EXISTS ingest_reject_scans")


def tabular_reader(facts: FileFacts, *, keep_rejects: bool = False) -> str:
    if facts.format == "csv":
        return csv_reader(facts, keep_rejects=keep_rejects)
    return parquet_reader(facts)


def tabular_columns(conn, facts: FileFacts) -> dict[str, str]:
    if facts.format == "csv":
        return dict.fromkeys(facts.header, "VARCHAR")
    return source_types(conn, tabular_reader(facts))
