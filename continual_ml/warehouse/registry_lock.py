"""Claiming the registry for a write, and reading the one champion inside that claim: what
registering a model (`registry`) and changing the champion (`champion`) both build on."""

from __future__ import annotations

import duckdb


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
