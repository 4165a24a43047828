"""Exactly-once ingestion of one file: one transaction, a whole-file quarantine, a report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb

from continual_ml.ingestion import ledger, routing, snapshots
from continual_ml.warehouse.claims import keyed_write
from continual_ml.warehouse.schema import apply_schema
from continual_ml.warehouse.sql import retried_on_conflict

# What DuckDB raises when a file's bytes turn out to be unreadable part-way through a scan
# (a bad Parquet page header raises the bare duckdb.Error). Anything else (out of memory, an
# interrupt, a constraint or binder error from a bug here) propagates instead of blaming the file.
_UNREADABLE = (duckdb.InvalidInputException, duckdb.IOException, duckdb.SerializationException)


def _unreadable(error: duckdb.Error) -> bool:
    return type(error) is duckdb.Error or isinstance(error, _UNREADABLE)


StepHook = Callable[[str], None]
TABULAR = ("csv", "parquet")


@dataclass(frozen=True)
class IngestReport:
    """What happened to one file; `reason` says why it was skipped, quarantined whole, or not
    read at all because it kept changing (then nothing is recorded: ingest it again)."""

    path: str
    kind: str
    status: Literal["ingested", "skipped", "quarantined", "changing"]
    sha256: str
    size_bytes: int
    ingestion_id: int | None = None
    mode: str = "append"
    rows_in: int = 0
    rows_good: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    partitions: dict[date, int] = field(default_factory=dict)
    replaced: tuple[date, ...] = ()
    rule_counts: dict[str, int] = field(default_factory=dict)
    waiting: int = 0  # labels kept for rows that have not landed yet
    for_quarantined_rows: int = 0  # labels for rows that were quarantined: not waited for

    def summary(self) -> str:
        name = Path(self.path).name
        if self.status != "ingested":
            return f"{name}: {self.status}: {self.reason}"
        rules = ", ".join(f"{rule} {n}" for rule, n in self.rule_counts.items())
        days = ", ".join(str(d) for d in self.partitions) or "no partition"
        text = f"{name}: {self.rows_in} rows, {self.rows_good} good into {days}"
        text += f", {self.waiting} waiting for their rows" if self.waiting else ""
        if self.for_quarantined_rows:
            text += f", {self.for_quarantined_rows} for quarantined rows (not waited for)"
        return text + (f", {self.rows_quarantined} quarantined ({rules})" if rules else "")


class RowCountMismatch(AssertionError):
    """Rows in != good + quarantined: a bug, so the ingestion is rolled back and raised."""


@dataclass(frozen=True)
class Landed:
    parsed: int
    good: int
    quarantined: int
    rejected: int
    per_day: dict[date, int]
    replaced: tuple[date, ...] = ()
    waiting: int = 0
    for_quarantined_rows: int = 0


@retried_on_conflict
def ingest(conn, config, path, source, on_step, *, kind, formats, land, mode="append", force=False):
    """Land one file once with `land`, or quarantine it whole; see `continual_ml.ingestion`.

    `land(conn, config, facts, ingestion, step)` writes the file's rows inside the transaction
    and returns what it `Landed`, or the reason the whole file is refused. It reads a private
    copy (`snapshots`), so the sha256 recorded is that of the bytes the rows came from; a file
    that keeps changing while it is copied is not ingested (status "changing", nothing recorded).
    """
    path = Path(path)
    try:
        with snapshots.stable_copy(path, formats) as facts:
            step = on_step or (lambda name: None)
            source = source or path.name
            return _ingest_copy(conn, config, facts, source, step, kind, land, mode, force)
    except snapshots.FileKeptChanging as error:
        return IngestReport(str(path), kind, "changing", "", 0, reason=str(error))


def _ingest_copy(conn, config, facts, source, step, kind, land, mode, force) -> IngestReport:
    apply_schema(conn, config)
    problem = facts.problem
    # Each transaction claims the kind's table first, so two ingestions of one kind take turns
    # (the loser is retried): the same file, or two sharing row ids, landed at once land once.
    with routing.utc_session(conn), routing.scratch(conn):
        try:
            with keyed_write(conn, kind):
                done = ledger.previous_outcome(conn, kind, facts.sha256)
                if done is not None and mode == "append" and not force:
                    return _skipped(facts, kind, done)
                if problem is None:
                    ingestion = ledger.start_ingestion(conn, kind, source)
                    landed = land(conn, config, facts, ingestion, step)
                    if isinstance(landed, str):
                        problem = landed
                    else:
                        return _finish(conn, facts, ingestion, landed, mode, step)
        except duckdb.Error as error:
            if not _unreadable(error):
                raise
            # DuckDB names the copy it read: say the file's own name instead.
            said = str(error).splitlines()[0].replace(str(facts.read_path), str(facts.path))
            problem = f"unreadable {facts.format} file: {said}"
        with keyed_write(conn, kind):
            # the same bad file may have been quarantined since the first transaction read
            done = ledger.previous_outcome(conn, kind, facts.sha256)
            if done is not None and mode == "append" and not force:
                return _skipped(facts, kind, done)
            ingestion = ledger.start_ingestion(conn, kind, source)
            ledger.quarantine_file(conn, ingestion, facts, problem)
    return IngestReport(
        str(facts.path),
        kind,
        "quarantined",
        facts.sha256,
        facts.size_bytes,
        ingestion_id=ingestion.ingestion_id,
        mode=mode,
        reason=problem,
    )


def _skipped(facts, kind: str, reason: str) -> IngestReport:
    return IngestReport(
        str(facts.path), kind, "skipped", facts.sha256, facts.size_bytes, reason=reason
    )


def _finish(conn, facts, ingestion, landed: Landed, mode, step) -> IngestReport:
    """Check that no row went missing, record the file, and say what happened."""
    quarantined = landed.quarantined + landed.rejected
    stored = conn.execute(
        "SELECT count(*) FROM quarantined_rows WHERE ingestion_id = ?", [ingestion.ingestion_id]
    ).fetchone()[0]
    if landed.parsed != landed.good + landed.quarantined or stored != quarantined:
        raise RowCountMismatch(
            f"{facts.path}: {landed.parsed} rows read but {landed.good} good + "
            f"{landed.quarantined} quarantined ({stored} stored)"
        )
    refused_per_day = dict(
        conn.execute(
            "SELECT partition_date, count(*) FROM quarantined_rows "
            "WHERE ingestion_id = ? AND partition_date IS NOT NULL GROUP BY ALL",
            [ingestion.ingestion_id],
        ).fetchall()
    )
    written = {d: n - refused_per_day.get(d, 0) for d, n in sorted(landed.per_day.items())}
    partitions = {d: n for d, n in written.items() if n > 0}
    rows = (landed.parsed + landed.rejected, landed.good, quarantined)
    recorded = landed.replaced if mode == "replace" else list(partitions)
    ledger.record_file(conn, ingestion, facts, mode=mode, rows=rows, partitions=recorded)
    step("recorded")
    rule_counts = dict(
        conn.execute(
            "SELECT rule, count(*) AS n FROM (SELECT unnest(rules) AS rule FROM quarantined_rows "
            "WHERE ingestion_id = ?) GROUP BY rule ORDER BY n DESC, rule",
            [ingestion.ingestion_id],
        ).fetchall()
    )
    return IngestReport(
        str(facts.path),
        ingestion.kind,
        "ingested",
        facts.sha256,
        facts.size_bytes,
        ingestion_id=ingestion.ingestion_id,
        mode=mode,
        rows_in=rows[0],
        rows_good=rows[1],
        rows_quarantined=rows[2],
        partitions=partitions,
        replaced=landed.replaced,
        rule_counts=rule_counts,
        waiting=landed.waiting,
        for_quarantined_rows=landed.for_quarantined_rows,
    )
