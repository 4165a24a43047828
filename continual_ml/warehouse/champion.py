"""Changing the champion: one at a time, whichever process asks.

Every change of a model's status claims the registry by updating the one row of
`registry_writes`, so two concurrent changes conflict (at the second write on the DuckDB file,
at the second commit on DuckLake) and the loser is retried from the start by
`retried_on_conflict`. A change also checks, inside its transaction, that the champion is still
the one it read before: one that committed in between makes it start again.
"""

from __future__ import annotations

from datetime import date

import duckdb


class ChampionChanged(duckdb.TransactionException):
    """The champion changed between reading it and changing it: a conflict, so retried."""


def lock_registry(conn: duckdb.DuckDBPyConnection) -> None:
    """Claim the registry for the caller's transaction: a concurrent transaction that claims it
    too (a registration, a promotion, a decision) conflicts, and one of the two is retried from
    the start. Version numbers, promotion ids and the one champion depend on it."""
    conn.execute("UPDATE registry_writes SET changes = changes + 1")


def champion_version(conn: duckdb.DuckDBPyConnection) -> int | None:
    rows = conn.execute("SELECT version FROM model_registry WHERE status = 'champion'").fetchall()
    if len(rows) > 1:
        raise RuntimeError(f"registry names {len(rows)} champions: {rows}")
    return rows[0][0] if rows else None


def change_champion(
    conn: duckdb.DuckDBPyConnection,
    version: int,
    action: str,
    reason: str,
    actor: str,
    *,
    expected: int | None,
    partition_date: date | None = None,
) -> None:
    """Make `version` the champion and retire the one before, in the caller's transaction;
    `expected` is the champion the caller read before it began."""
    from continual_ml.warehouse import registry

    lock_registry(conn)
    current = champion_version(conn)
    if current != expected:
        raise ChampionChanged(
            f"Transaction conflict: the champion is v{current}, not v{expected} as read before"
        )
    if current is not None:
        registry.set_status(conn, current, "retired", f"replaced by v{version}")
    registry.record_change(
        conn,
        version,
        "champion",
        action,
        reason,
        actor,
        partition_date=partition_date,
        previous_champion=current,
        champion_version=version,
        promoted_by=actor,
    )
