"""Landing files in DuckDB: what a file is, how DuckDB reads it, and the tables that remember it.

`inspect_file` streams the file once (sha256 for exactly-once, UTF-8 and NUL-byte checks for
text, magic bytes for Parquet) without holding it in memory. `land_rows` moves the rows of a
DuckDB reader into their table and their quarantine with two `INSERT ... SELECT` statements,
so DuckDB streams the data and Python never sees a row.

Tables kept here (created by `ensure_ingestion_schema`):

- `ingested_files`: one row per ingestion (file, size, sha256, rows in/good/quarantined).
- `quarantined_files`: files that could not be read at all, with the reason.
- `quarantined_rows`: rows refused by a rule: the file, the row as read (JSON), its row number
  where the reader knows it (Parquet rows, CSV lines that do not parse), its id if any, the
  reasons and the rule names.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from continual_ml.validation import (
    Check,
    Column,
    any_failed,
    failed_rules,
    literal,
    raw_alias,
    reasons,
    value_alias,
)

_CHUNK_BYTES = 1 << 20
_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
REJECTS_TABLE = "ingest_reject_errors"

_TABLES = """
CREATE SEQUENCE IF NOT EXISTS ingestion_ids;
CREATE TABLE IF NOT EXISTS ingested_files (
    ingestion_id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, mode VARCHAR NOT NULL,
    source VARCHAR NOT NULL, path VARCHAR NOT NULL, size_bytes BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL, rows_in BIGINT NOT NULL, rows_good BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL, partitions DATE[], ingested_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantined_files (
    ingestion_id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, source VARCHAR NOT NULL,
    path VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, sha256 VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, quarantined_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantined_rows (
    ingestion_id BIGINT NOT NULL, kind VARCHAR NOT NULL, source VARCHAR NOT NULL,
    row_number BIGINT, row_id VARCHAR, partition_date DATE, raw JSON, reason VARCHAR NOT NULL,
    rules VARCHAR[], ingested_at TIMESTAMP NOT NULL
);
"""


@dataclass(frozen=True)
class FileFacts:
    """What one streamed pass over a file found; `problem` says why it cannot be read at all."""

    path: Path
    format: str | None
    size_bytes: int
    sha256: str
    problem: str | None = None
    header: tuple[str, ...] = ()


def ensure_ingestion_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(_TABLES)


def _format_of(path: Path, first_bytes: bytes) -> str | None:
    suffix = path.suffix.lower()
    if suffix in _FORMATS:
        return _FORMATS[suffix]
    return "parquet" if first_bytes.startswith(b"PAR1") else None


class _TextCheck:
    """Finds the first reason a stream of chunks is not UTF-8 text, without keeping the text."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.offset = 0
        self.problem: str | None = None

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self.problem is None:
            self.problem = self._problem(chunk, final)
        self.offset += len(chunk)

    def _problem(self, chunk: bytes, final: bool) -> str | None:
        if self.offset == 0 and chunk.startswith(_UTF16_BOMS):
            return "UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8"
        nul = chunk.find(b"\x00")
        if nul >= 0:
            return f"binary data, not UTF-8 text: a NUL byte at byte {self.offset + nul}"
        try:
            self.decoder.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            bad = error.object[error.start]
            return (
                f"not UTF-8 text: byte 0x{bad:02x} near byte {self.offset + error.start} is not "
                "valid UTF-8 (Latin-1 or another encoding?): save it as UTF-8"
            )
        return None


def inspect_file(path: Path, allowed_formats: Sequence[str]) -> FileFacts:
    """Hash the file in chunks and find what makes it unreadable, if anything."""
    digest, size, tail = hashlib.sha256(), 0, b""
    with path.open("rb") as handle:
        chunk = handle.read(_CHUNK_BYTES)
        file_format = _format_of(path, chunk[:4])
        text = _TextCheck() if file_format in ("csv", "jsonl") else None
        head = chunk[:4]
        while chunk:
            digest.update(chunk)
            if text is not None:
                text.feed(chunk)
            tail = (tail + chunk)[-4:]
            size += len(chunk)
            chunk = handle.read(_CHUNK_BYTES)
    if text is not None:
        text.feed(b"", final=True)
    sha256 = digest.hexdigest()
    if size == 0:
        problem = "empty file (0 bytes)"
    elif file_format not in allowed_formats:
        expected = " or ".join(allowed_formats)
        problem = f"unsupported file type {path.suffix or '(no suffix)'!r}: expected {expected}"
    elif file_format == "parquet" and not (head == b"PAR1" and tail == b"PAR1"):
        where = "start" if head != b"PAR1" else "end (truncated?)"
        problem = f"not a Parquet file: no PAR1 magic bytes at the {where}"
    else:
        problem = text.problem if text is not None else None
    header: tuple[str, ...] = ()
    if problem is None and file_format == "csv":
        header, problem = _csv_header(path)
    return FileFacts(path, file_format, size, sha256, problem, header)


def _csv_header(path: Path) -> tuple[tuple[str, ...], str | None]:
    """The column names on the first line, read with the same dialect DuckDB is given."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            header = tuple(next(csv.reader(handle, delimiter=",", quotechar='"'), []))
        except csv.Error as error:
            return (), f"the header line cannot be read as CSV: {error}"
    if not any(name.strip() for name in header):
        return (), "the first line (the header) is empty"
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        return header, f"the header names these columns more than once: {', '.join(repeated)}"
    return header, None


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
        f"read_csv({literal(str(facts.path))}, header=true, auto_detect=false, delim=',', "
        f"quote='\"', escape='\"', columns={{{columns}}}, {errors})"
    )


def lines_reader(facts: FileFacts) -> str:
    """DuckDB's CSV reader used to split a text file into lines, keeping what it cannot read.

    A NUL delimiter and no quoting make each line one field; `inspect_file` has already refused
    files that contain NUL bytes.
    """
    return (
        f"read_csv({literal(str(facts.path))}, header=false, auto_detect=false, "
        "columns={'line': 'VARCHAR'}, delim='\\0', quote='', escape='', store_rejects=true, "
        f"rejects_table={literal(REJECTS_TABLE)}, rejects_scan='ingest_reject_scans')"
    )


def parquet_reader(facts: FileFacts) -> str:
    return f"read_parquet({literal(str(facts.path))}, file_row_number=true)"


def source_types(conn: duckdb.DuckDBPyConnection, reader: str) -> dict[str, str]:
    """Column name -> DuckDB type of what `reader` yields (reads only metadata or the header)."""
    return {row[0]: row[1] for row in conn.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}


def drop_rejects(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {REJECTS_TABLE}; DROP TABLE IF EXISTS ingest_reject_scans")


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
class Ingestion:
    """One attempt at landing one file: the id every row it writes is tagged with."""

    ingestion_id: int
    kind: str
    source: str
    ingested_at: datetime


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

    The first pass groups 64-bit hashes of the keys rather than the keys: a far smaller hash
    table, so a large file is counted in memory instead of spilling. Only the keys whose hash
    is repeated or taken (real repeats, plus the rare collision) are then counted exactly.
    """
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ingest_counts AS
        WITH counted AS (
            SELECT hash({key}) AS key_hash, {day} AS day, count(*) AS n,
                   grouping(hash({key}), {day}) AS grouping_set
            FROM {typed} GROUP BY GROUPING SETS ((hash({key})), ({day}), ())
        )
        SELECT * FROM counted
        WHERE grouping_set <> 1 OR n > 1 OR key_hash IN (SELECT hash(key) FROM ({taken}))
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
        rows=sum(n for _, n, group in counts if group == 3),
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


def start_ingestion(conn: duckdb.DuckDBPyConnection, kind: str, source: str) -> Ingestion:
    ingestion_id = conn.execute("SELECT nextval('ingestion_ids')").fetchone()[0]
    # one clock reading for every row the ingestion writes, in UTC like the event times
    now = conn.execute("SELECT timezone('UTC', now())").fetchone()[0]
    return Ingestion(ingestion_id, kind, source, now)


def previous_outcome(conn: duckdb.DuckDBPyConnection, kind: str, sha256: str) -> str | None:
    """Why a file with this content needs no work: already ingested, or already quarantined."""
    done = conn.execute(
        "SELECT ingestion_id, ingested_at FROM ingested_files WHERE kind = ? AND sha256 = ? "
        "ORDER BY ingestion_id LIMIT 1",
        [kind, sha256],
    ).fetchone()
    if done is not None:
        return (
            f"already ingested: same sha256 as ingestion {done[0]} at {done[1]:%Y-%m-%d %H:%M:%S}"
        )
    refused = conn.execute(
        "SELECT ingestion_id, quarantined_at, reason FROM quarantined_files "
        "WHERE kind = ? AND sha256 = ? ORDER BY ingestion_id LIMIT 1",
        [kind, sha256],
    ).fetchone()
    if refused is not None:
        return f"already quarantined as ingestion {refused[0]}: {refused[2]}"
    return None


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


@contextmanager
def utc_session(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run with the session time zone at UTC (how naive timestamps are read), then restore it."""
    zone = conn.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    conn.execute("SET TimeZone = 'UTC'")
    try:
        yield
    finally:
        conn.execute(f"SET TimeZone = {literal(zone)}")
