"""Claims: why a keyed write of one key by two writers at once leaves one row, on both backends.

A keyed write replaces a key's rows (delete, then insert) in one transaction. Alone, that races:
when the key is new, neither writer deletes anything, and inserts never conflict, so on DuckLake
both commit and the key has two rows. A file ingested twice at once, or two files sharing row
ids, race the same way between the ledger read and the append.

So every keyed write first claims its table: it updates the table's row in `write_claims`.
Two transactions that update one row conflict on both backends, whatever else they touch: the
DuckDB file refuses the second update at once ("Conflict on tuple update"), DuckLake refuses the
second commit (both deleted from the claim row's data file). `retried_on_conflict` then runs the
loser again from its start, in a new snapshot that holds the winner's rows, so it replaces them
(or, for ingestion, finds the file and the row ids already landed).

Why this and not something else:

- DuckLake has no PRIMARY KEY or UNIQUE, and a new key has no row yet to conflict on; the claim
  row exists before any key does.
- A lock outside the warehouse (a Postgres advisory lock in the catalog database) exists on
  DuckLake only, needs a second connection per writer, and is not atomic with the commit; the
  claim is one statement in the writer's own transaction, the same on both backends, and a
  writer that dies holds nothing (its transaction just never commits).
- One row per table, not per key: keys are new when they race, and DuckLake detects conflicts
  per data file, not per row, so finer claims would need one file per key. Writers of one table
  take turns; writers of different tables do not, once each claim row has been updated into a
  file of its own (until then, a claim of another table may conflict too: a needless retry).
  The registry's `registry_writes` row is the same idea, kept for its own tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from continual_ml.warehouse.sql import literal, transaction

# The tables a keyed write claims: those written by replacing a key's rows (drift_scores, and
# the evaluation tables after evaluation_scores, go with the one their writer claims), and the
# ingestion ledger's kinds, each claimed by the ingestions of its files.
KEYED_TABLES = (
    "data_windows",
    "partition_validation",
    "performance_history",
    "drift_reports",
    "evaluation_scores",
    "gate_results",
    "shadow_scores",
    "reference_profiles",
    "observations",
    "labels",
    "predictions",
)

# A row per keyed table, added where missing (the schema is applied again when this changes).
_NAMES = ", ".join(f"({literal(table)})" for table in KEYED_TABLES)
WRITE_CLAIMS = f"""
CREATE TABLE IF NOT EXISTS write_claims (table_name VARCHAR NOT NULL, claims BIGINT NOT NULL);
INSERT INTO write_claims SELECT name, 0 FROM (VALUES {_NAMES}) AS keyed(name)
    WHERE name NOT IN (SELECT table_name FROM write_claims);
"""


class UnclaimableTable(LookupError):
    """A write claimed a table `write_claims` has no row for: a bug, or a schema not applied."""


def claim(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Claim `table` for the caller's open transaction (see the module's docstring)."""
    updated = conn.execute(
        "UPDATE write_claims SET claims = claims + 1 WHERE table_name = ?", [table]
    ).fetchone()[0]
    if not updated:
        raise UnclaimableTable(f"no claim row for {table!r}: add it to claims.KEYED_TABLES")


@contextmanager
def keyed_write(conn: duckdb.DuckDBPyConnection, table: str) -> Iterator[None]:
    """A transaction that claims `table` first; run it inside a `retried_on_conflict` function,
    which runs the loser of two concurrent claims again."""
    with transaction(conn):
        claim(conn, table)
        yield
