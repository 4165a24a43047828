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

from continual_ml.warehouse import registry
from continual_ml.warehouse.registry_lock import champion_version, lock_registry


class ChampionChanged(duckdb.TransactionException):
    """The champion changed between reading it and changing it: a conflict, so retried."""


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
