"""Small DuckDB helpers every warehouse module shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: whatever is raised inside rolls everything back and propagates."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def insert_row(conn: duckdb.DuckDBPyConnection, table: str, row: dict) -> None:
    conn.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    """Append a DataFrame's rows, matching columns by name."""
    conn.register("incoming_frame", frame)
    # No `finally`: after a failed insert the transaction is aborted and even unregistering
    # would raise, hiding the real error; the next register replaces the name anyway.
    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_frame")
    conn.unregister("incoming_frame")


def literal(text: str) -> str:
    """A SQL string literal.

    >>> literal("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier: `identifier('a"b')` is `"a""b"`."""
    return '"' + name.replace('"', '""') + '"'
