"""Landing a file's rows in DuckDB: each row into its table, or into quarantine with reasons.

`land_rows` moves the rows of a DuckDB reader into their table and their quarantine with two
`INSERT ... SELECT` statements, so DuckDB streams the data and Python never sees a row. What
the file is, how DuckDB reads it and the tables that remember it are in `files`, `readers` and
`ledger`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import duckdb

from continual_ml.ingestion.ledger import Ingestion
from continual_ml.ingestion.readers import REJECTS_TABLE, drop_rejects
from continual_ml.ingestion.rules import Column
from continual_ml.ingestion.sql_text import (
    Check,
    any_failed,
    failed_rules,
    literal,
    raw_alias,
    reasons,
    value_alias,
)


@contextmanager
def scratch(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Drop the temp tables an ingestion makes when it ends, leaving the connection clean."""
    try:
        yield
    finally:
        drop_rejects(conn)
        for table in ("ingest_counts", "ingest_keys", "ingest_feedback_keys", "ingest_log_lines"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")


@dataclass(frozen=True)
class RowPlan:
    """How the rows of one reader land: what they are checked against and where they go.

    `source` is a FROM clause whose reader rows are aliased `s`; `extras` are more columns of
    the inner query (join results) that `checks` may use; `values` maps each column of `table`
    to SQL over the columns' aliases, and so does `partition`. `row_number`, `row_id` and
    `raw_row` are SQL over `s`. Rows failing any check go to `quarantined_rows` instead.
    """

    source: str
    columns: tuple[Column, ...]
    table: str
    values: dict[str, str]
    raw_row: str
    checks: tuple[Check, ...] = ()
    extras: dict[str, str] = field(default_factory=dict)
    row_number: str = "NULL"
    row_id: str = "NULL"
    partition: str = "NULL"
    where: str = "true"

    @property
    def all_checks(self) -> tuple[Check, ...]:
        return tuple(c for column in self.columns for c in column.checks) + self.checks

    def inner_query(self) -> str:
        selected = [*_aliased(self.columns), *(f"{sql} AS {a}" for a, sql in self.extras.items())]
        selected += [f"{self.row_number} AS __row_number", f"{self.row_id} AS __row_id"]
        selected.append(f"{self.raw_row} AS __raw_row")
        return f"SELECT {', '.join(selected)} FROM {self.source} WHERE {self.where}"


def _aliased(columns: Sequence[Column]) -> list[str]:
    selected = [f"{c.raw} AS {raw_alias(c.name)}" for c in columns]
    return selected + [f"{c.value} AS {value_alias(c.name)}" for c in columns]


def typed_rows(source: str, columns: Sequence[Column]) -> str:
    """A subquery of each column's raw and typed value, under the aliases checks refer to."""
    return f"(SELECT {', '.join(_aliased(columns))} FROM {source}) AS typed"


@dataclass(frozen=True)
class KeyCounts:
    rows: int
    per_day: dict[date, int]
    flagged_keys: int

    def join(self, key: str) -> str:
        """The join that gives the landing query `__copies` and `__taken`, if it needs one.

        Most files have no repeated or taken key, and skipping a join that would match nothing
        saves a fair share of the write."""
        if not self.flagged_keys:
            return ""
        return f" LEFT JOIN ingest_keys AS k ON k.key = {key}"

    @property
    def extras(self) -> dict[str, str]:
        if not self.flagged_keys:
            return {"__copies": "NULL::BIGINT", "__taken": "NULL::BOOLEAN"}
        return {"__copies": "k.n", "__taken": "k.taken"}


def count_keys(
    conn: duckdb.DuckDBPyConnection, typed: str, key: str, day: str, taken: str
) -> KeyCounts:
    """Rows read, rows per day, and into `ingest_keys` (key, n, taken) the keys that are
    repeated in the file or already in `taken` (a query of one column, `key`).

    The key pass groups 64-bit hashes of the keys rather than the keys: a far smaller hash
    table, so a large file is counted in memory instead of spilling. Only the keys whose hash
    is repeated or taken (real repeats, plus the rare collision) are then counted exactly.
    Days and keys are two plain aggregates, not one of grouping sets: DuckDB 1.4 can spill a
    plain one, and the grouping sets ran out of 256 MB on 10 million keys one run in four.
    """
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ingest_counts AS
        SELECT NULL::UBIGINT AS key_hash, {day} AS day, count(*) AS n, 2 AS grouping_set
        FROM {typed} GROUP BY ALL
        """
    )
    conn.execute(
        f"""
        INSERT INTO ingest_counts
        SELECT key_hash, NULL, n, 1 FROM (
            SELECT hash({key}) AS key_hash, count(*) AS n FROM {typed} GROUP BY ALL
        )
        WHERE n > 1 OR key_hash IN (SELECT hash(key) FROM ({taken}))
        """
    )
    counts = conn.execute("SELECT day, n, grouping_set FROM ingest_counts").fetchall()
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ingest_keys AS
        SELECT key, n, key IN (SELECT key FROM ({taken})) AS taken
        FROM (
            SELECT {key} AS key, count(*) AS n FROM {typed}
            WHERE hash({key}) IN (SELECT key_hash FROM ingest_counts WHERE grouping_set = 1)
            GROUP BY ALL
        )
        WHERE key IS NOT NULL AND (n > 1 OR taken)
        """
        if any(group == 1 for *_, group in counts)
        else "CREATE OR REPLACE TEMP TABLE ingest_keys (key VARCHAR, n BIGINT, taken BOOLEAN)"
    )
    return KeyCounts(
        rows=sum(n for _, n, group in counts if group == 2),  # the days' rows, no day's too
        per_day={d: n for d, n, group in counts if group == 2 and d is not None},
        flagged_keys=conn.execute("SELECT count(*) FROM ingest_keys").fetchone()[0],
    )


def land_rows(
    conn: duckdb.DuckDBPyConnection,
    plan: RowPlan,
    ingestion: Ingestion,
    step: Callable[[str], None] | None = None,
    rows: int | None = None,
) -> tuple[int, int]:
    """Write the plan's passing rows, then quarantine its failing ones; (good, quarantined).

    `IS FALSE` and `IS NOT FALSE` put every row in exactly one of the two. When the source's
    row count is known and every row was good, the quarantine pass is skipped: a clean file,
    the usual case, is read once fewer. `step` is called after each write.
    """
    step = step or (lambda name: None)
    failed = any_failed(plan.all_checks)
    targets = ", ".join(plan.values)
    good = conn.execute(
        f"INSERT INTO {plan.table} ({targets}) SELECT {', '.join(plan.values.values())} "
        f"FROM ({plan.inner_query()}) AS checked WHERE ({failed}) IS FALSE"
    ).fetchone()[0]
    step("written")
    quarantined = 0
    if rows is None or good < rows:
        quarantined = conn.execute(
            "INSERT INTO quarantined_rows (ingestion_id, kind, source, row_number, row_id, "
            "partition_date, raw, reason, rules, ingested_at) "
            f"SELECT ?, ?, ?, __row_number, __row_id, {plan.partition}, to_json(__raw_row), "
            f"{reasons(plan.all_checks)}, {failed_rules(plan.all_checks)}, ? "
            f"FROM ({plan.inner_query()}) AS checked WHERE ({failed}) IS NOT FALSE",
            [ingestion.ingestion_id, ingestion.kind, ingestion.source, ingestion.ingested_at],
        ).fetchone()[0]
    step("quarantined")
    return good, quarantined


def land_rejects(conn: duckdb.DuckDBPyConnection, ingestion: Ingestion) -> int:
    """Quarantine the lines the CSV reader could not parse, one row per line."""
    return conn.execute(
        "INSERT INTO quarantined_rows (ingestion_id, kind, source, row_number, row_id, raw, "
        "reason, rules, ingested_at) "
        # the reader may report several errors for one line (one per missing column):
        # the first one, at the lowest column, is the one a person needs to read
        "SELECT ?, ?, ?, line, NULL, to_json(any_value(csv_line)), 'line ' || line || ': ' "
        "|| arg_min(lower(error_type) || ' (' || error_message || ')', column_idx), "
        "list(DISTINCT 'line:' || lower(replace(error_type, ' ', '_'))), ? "
        f"FROM {REJECTS_TABLE} GROUP BY line",
        [ingestion.ingestion_id, ingestion.kind, ingestion.source, ingestion.ingested_at],
    ).fetchone()[0]


@contextmanager
def utc_session(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run with the session time zone at UTC (how naive timestamps are read), then restore it."""
    zone = conn.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    conn.execute("SET TimeZone = 'UTC'")
    try:
        yield
    finally:
        conn.execute(f"SET TimeZone = {literal(zone)}")
