"""The tables that remember each ingestion: the files landed, and the files and rows refused.

Tables kept here (created by `warehouse.schema.apply_schema`):

- `ingested_files`: one row per ingestion (file, size, sha256, rows in/good/quarantined).
- `quarantined_files`: files that could not be read at all, with the reason.
- `quarantined_rows`: rows refused by a rule: the file, the row as read (JSON), its row number
  where the reader knows it (Parquet rows, CSV lines that do not parse), its id if any, the
  reasons and the rule names.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from continual_ml.ingestion.files import FileFacts


@dataclass(frozen=True)
class Ingestion:
    """One attempt at landing one file: the id every row it writes is tagged with."""

    ingestion_id: int
    kind: str
    source: str
    ingested_at: datetime


def new_ingestion_id() -> int:
    """A new ingestion's id: the time in microseconds, then three random digits.

    Unique without asking the warehouse, so writers on several machines never wait for each
    other (DuckLake has no sequences), and increasing with time, as the ledger's order assumes.
    """
    return time.time_ns() // 1000 * 1000 + secrets.randbelow(1000)


def start_ingestion(conn: duckdb.DuckDBPyConnection, kind: str, source: str) -> Ingestion:
    ingestion_id = new_ingestion_id()
    # one clock reading for every row the ingestion writes, in UTC like the event times
    now = conn.execute("SELECT timezone('UTC', now())").fetchone()[0]
    return Ingestion(ingestion_id, kind, source, now)


def previous_outcome(conn: duckdb.DuckDBPyConnection, kind: str, sha256: str) -> str | None:
    """Why a file with this content needs no work: already ingested, or already quarantined."""
    done = _first_with(conn, "ingested_files", "ingested_at", kind, sha256)
    if done is not None:
        return (
            f"already ingested: same sha256 as ingestion {done[0]} at {done[1]:%Y-%m-%d %H:%M:%S}"
        )
    refused = _first_with(conn, "quarantined_files", "reason", kind, sha256)
    if refused is not None:
        return f"already quarantined as ingestion {refused[0]}: {refused[1]}"
    return None


def _first_with(conn, table: str, column: str, kind: str, sha256: str) -> tuple | None:
    """The first ingestion in `table` of a file of this kind and content: (its id, `column`)."""
    return conn.execute(
        f"SELECT ingestion_id, {column} FROM {table} WHERE kind = ? AND sha256 = ? "
        "ORDER BY ingestion_id LIMIT 1",
        [kind, sha256],
    ).fetchone()


def record_file(
    conn: duckdb.DuckDBPyConnection,
    ingestion: Ingestion,
    facts: FileFacts,
    *,
    mode: str,
    rows: tuple[int, int, int],
    partitions: Sequence = (),
) -> None:
    """Remember an ingestion: with its rows in the same transaction, this makes it exactly-once."""
    conn.execute(
        "INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ingestion.ingestion_id,
            ingestion.kind,
            mode,
            ingestion.source,
            str(facts.path),
            facts.size_bytes,
            facts.sha256,
            *rows,
            list(partitions),
            ingestion.ingested_at,
        ],
    )


def quarantine_file(
    conn: duckdb.DuckDBPyConnection, ingestion: Ingestion, facts: FileFacts, reason: str
) -> None:
    conn.execute(
        "INSERT INTO quarantined_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ingestion.ingestion_id,
            ingestion.kind,
            ingestion.source,
            str(facts.path),
            facts.size_bytes,
            facts.sha256,
            reason,
            ingestion.ingested_at,
        ],
    )
