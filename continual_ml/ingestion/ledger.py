"""The tables that remember each ingestion: the files landed, and the files and rows refused.

Tables kept here (created by `warehouse.schema.apply_schema`):

- `ingested_files`: one row per ingestion (file, size, sha256, rows in/good/quarantined).
- `quarantined_files`: files that could not be read at all, with the reason.
- `quarantined_rows`: rows refused by a rule: the file, the row as read (JSON), its row number
  where the reader knows it (Parquet rows, CSV lines that do not parse), its id if any, the
  reasons and the rule names.

`label_counts` accounts for every label keyed by a row id: matched to a landed row, waiting for
a row not seen yet, or for a row that was quarantined (counted, and not waited for: the row
lands only if a fixed file is ingested again, and then the label is matched).
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


@dataclass(frozen=True)
class LabelCounts:
    """Labels keyed by a row id: ``labels == matched + waiting + for_quarantined_rows``."""

    labels: int
    matched: int  # their row landed in `observations`
    waiting: int  # no row with that id seen yet: it may still come
    for_quarantined_rows: int  # their row was quarantined, and did not land since

    def as_metadata(self) -> dict[str, int]:
        return {
            "labels_in": self.labels,
            "labels_matched": self.matched,
            "labels_waiting": self.waiting,
            "labels_for_quarantined_rows": self.for_quarantined_rows,
        }


def label_counts(conn: duckdb.DuckDBPyConnection, ingestion_id: int | None = None) -> LabelCounts:
    """Where the labels of one ingestion (of all, by default) stand; see `LabelCounts`."""
    found = conn.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE o.row_id IS NOT NULL),
               count(*) FILTER (WHERE o.row_id IS NULL AND q.row_id IS NULL),
               count(*) FILTER (WHERE o.row_id IS NULL AND q.row_id IS NOT NULL)
        FROM labels AS l
        LEFT JOIN (SELECT DISTINCT row_id FROM observations) AS o ON o.row_id = l.row_id
        LEFT JOIN (
            SELECT DISTINCT row_id FROM quarantined_rows
            WHERE kind = 'observations' AND row_id IS NOT NULL
        ) AS q ON q.row_id = l.row_id
        WHERE l.row_id IS NOT NULL AND ($1 IS NULL OR l.ingestion_id = $1)
        """,
        [ingestion_id],
    ).fetchone()
    return LabelCounts(*found)
