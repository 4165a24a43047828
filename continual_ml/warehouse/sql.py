"""Small DuckDB helpers every warehouse module shares."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import duckdb
import tenacity

# How often a transaction that lost a write-write conflict is tried again, waiting longer each
# time (0.05 s, 0.1 s, ... up to 2 s, with jitter so that two losers do not collide again): about
# 30 s in all, since writers of one table take turns (`claims`) and a turn may be an ingestion.
CONFLICT_ATTEMPTS = 20
log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


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


def is_conflict(error: BaseException) -> bool:
    """Whether `error` is a write-write conflict: another transaction changed the same rows
    first (the DuckDB file's "Conflict on tuple update", DuckLake's "Transaction conflict")."""
    return isinstance(error, duckdb.TransactionException) and "conflict" in str(error).lower()


def retried_on_conflict(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function(conn, ...)`, which owns its transactions, again from its start when one of
    them loses a write-write conflict; after `CONFLICT_ATTEMPTS` the conflict is raised.

    Every write of the warehouse goes through such a function, so concurrent writers (several
    DuckLake processes, or connections of one process to the DuckDB file) serialize on the rows
    they share instead of failing. Never call one inside a transaction the caller opened.
    """

    def before_retry(state: tenacity.RetryCallState) -> None:
        rollback_quietly(state.args[0] if state.args else state.kwargs["conn"])
        error = state.outcome.exception()
        log.info(
            "%s: %s; retrying (attempt %d)", function.__name__, error, state.attempt_number + 1
        )

    return tenacity.retry(
        retry=tenacity.retry_if_exception(is_conflict),
        # Read at each call, not when decorated: tests lower it.
        stop=lambda state: state.attempt_number >= CONFLICT_ATTEMPTS,
        wait=_conflict_backoff,
        before_sleep=before_retry,
        reraise=True,  # the conflict itself, not tenacity's RetryError
    )(function)


def _conflict_backoff(state: tenacity.RetryCallState) -> float:
    return min(2.0, 0.025 * 2**state.attempt_number) * random.uniform(0.5, 1.5)


def rollback_quietly(conn: duckdb.DuckDBPyConnection) -> None:
    """End a failed transaction, if one is still open (a failed COMMIT usually ended it)."""
    try:
        conn.execute("ROLLBACK")
    except duckdb.Error:
        pass


def insert_row(conn: duckdb.DuckDBPyConnection, table: str, row: dict) -> None:
    conn.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def insert_frame(
    conn: duckdb.DuckDBPyConnection, table: str, frame, stamp: str | None = None
) -> None:
    """Append a DataFrame's rows, matching columns by name; `stamp` names a column to set to
    the current time (DuckLake has no `DEFAULT current_timestamp`)."""
    conn.register("incoming_frame", frame)
    # No `finally`: after a failed insert the transaction is aborted and even unregistering
    # would raise, hiding the real error; the next register replaces the name anyway.
    now = f", current_localtimestamp() AS {identifier(stamp)}" if stamp else ""
    conn.execute(f"INSERT INTO {table} BY NAME SELECT *{now} FROM incoming_frame")
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
