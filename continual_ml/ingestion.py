"""Ingesting user files into the warehouse: checked in SQL, quarantined with reasons, exactly once.

`ingest_file` lands a CSV or Parquet file of observations, `ingest_labels` a file of late
labels, `ingest_prediction_log` a JSONL log written by the service (`prediction_log`). Each one:

- reads the file with DuckDB's own readers and checks every row in SQL (see `validation`), so
  memory does not grow with the file: Python never holds the rows;
- writes the good rows to their table and every refused row to `quarantined_rows` with a
  reason naming the column and the rule; rows in = good + quarantined, or the call fails;
- quarantines a file it cannot read at all (truncated, binary, not UTF-8, missing columns) as a
  whole in `quarantined_files` and returns a report saying why, without raising;
- commits the rows, their quarantine and the `ingested_files` record in one transaction, so an
  interrupted call leaves the warehouse as it was;
- is a no-op for a file whose sha256 it has already ingested or quarantined.

Call them outside an open transaction. DuckDB keeps written blocks in its buffer pool up to the
connection's `memory_limit` (80% of RAM unless set): set it (`SET memory_limit = '1GB'`) to bound
the process; under a limit the peak stays flat however large the file (`benchmarks.ingestion`).
An id repeated within a file quarantines every copy, since which one is right cannot be told.

Re-ingesting on purpose goes through `replace_partitions_from_file`: it replaces the partitions
the file covers, whether or not the file was seen before, in one transaction (exactly-once
protects against accidents: the same file dropped twice, a sensor ticking twice, a retried run;
a replacement is a decision, so it always runs and is recorded with mode "replace").

Files name the id and event-time columns as the config says (`id_column`, `event_time_column`);
`observations` calls them `row_id` and `event_time`. CSV files are comma-separated UTF-8 with a
header line and double quotes; an empty field is a missing value. Columns the config does not
name are ignored (and kept in the quarantined row's JSON). A `batch_id` column is used when
present, else the source name. Event times with an offset are converted to UTC; naive ones are
taken as UTC; the partition is the UTC day.

Late labels (`ingest_labels`): a CSV or Parquet file with the id column, the label column and an
optional `labelled_at`, appended to `labels` (a history, never rewriting `observations`). The
label a row trains with is the newest one: largest `labelled_at` (the ingestion time when it is
missing), then the latest ingestion; a late label wins over a label `observations` already has,
since it came later. `labelled_rows` returns only rows with a label.

Prediction logs (`ingest_prediction_log`): UTF-8 JSON lines, one object per line, blank lines
ignored. A prediction::

    {"kind": "prediction", "prediction_id": "9f1c…", "model_version": 3,
     "served_at": "2026-01-09T10:00:00.123456+00:00", "latency_ms": 0.8,
     "features": {"x0": 0.5, "segment": "north"}, "probabilities": {"0": 0.1, "1": 0.9},
     "predicted_class": 1, "row_id": "optional id of the observed row"}

Feedback, the true label of a prediction that arrived later::

    {"kind": "feedback", "prediction_id": "9f1c…", "label": 1,
     "received_at": "2026-01-09T12:00:00+00:00"}

Predictions land in `predictions` (features as columns, like `observations`), feedback in
`labels` keyed by `prediction_id` (and by the prediction's `row_id` when it has one). Feedback
must name a prediction already ingested or in the same file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from continual_ml import landing, warehouse
from continual_ml.config import DatasetConfig
from continual_ml.sql import transaction
from continual_ml.validation import (
    Check,
    Column,
    check,
    class_label,
    feature,
    feature_kind,
    identifier,
    key_checks,
    literal,
    number,
    raw_alias,
    row_identifier,
    schema_problem,
    shown,
    timestamp,
    value_alias,
)

# What DuckDB raises when a file's bytes turn out to be unreadable part-way through a scan
# (a bad Parquet page header raises the bare duckdb.Error). Anything else (out of memory, an
# interrupt, a constraint or binder error from a bug here) propagates instead of blaming the file.
_UNREADABLE = (duckdb.InvalidInputException, duckdb.IOException, duckdb.SerializationException)


def _unreadable(error: duckdb.Error) -> bool:
    return type(error) is duckdb.Error or isinstance(error, _UNREADABLE)


StepHook = Callable[[str], None]
# feature columns of `predictions`, typed as `observations` types them
_SQL_TYPES = {"numeric": "DOUBLE", "boolean": "BOOLEAN", "categorical": "VARCHAR"}


@dataclass(frozen=True)
class IngestReport:
    """What happened to one file; `reason` says why it was skipped or quarantined whole."""

    path: str
    kind: str
    status: Literal["ingested", "skipped", "quarantined"]
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

    def summary(self) -> str:
        name = Path(self.path).name
        if self.status != "ingested":
            return f"{name}: {self.status}: {self.reason}"
        rules = ", ".join(f"{rule} {n}" for rule, n in self.rule_counts.items())
        days = ", ".join(str(d) for d in self.partitions) or "no partition"
        text = f"{name}: {self.rows_in} rows, {self.rows_good} good into {days}"
        return text + (f", {self.rows_quarantined} quarantined ({rules})" if rules else "")


class RowCountMismatch(AssertionError):
    """Rows in != good + quarantined: a bug, so the ingestion is rolled back and raised."""


def ensure_ingestion_schema(conn: duckdb.DuckDBPyConnection, config: DatasetConfig) -> None:
    """Create `observations`, the bookkeeping tables, `labels`, `predictions` and their views."""
    warehouse.ensure_schema(conn, config)
    landing.ensure_ingestion_schema(conn)
    features = ", ".join(f"{identifier(f.name)} {_SQL_TYPES[f.kind]}" for f in config.features)
    label = identifier(config.label)
    conn.execute(
        f"""
        CREATE TABLE IF NOT EXISTS labels (
            ingestion_id BIGINT NOT NULL, source VARCHAR NOT NULL, row_id VARCHAR,
            prediction_id VARCHAR, label BIGINT NOT NULL, labelled_at TIMESTAMP,
            ingested_at TIMESTAMP NOT NULL
        );
        CREATE TABLE IF NOT EXISTS predictions (
            prediction_id VARCHAR NOT NULL, ingestion_id BIGINT NOT NULL,
            partition_date DATE NOT NULL, served_at TIMESTAMP NOT NULL,
            model_version BIGINT NOT NULL, latency_ms DOUBLE NOT NULL, row_id VARCHAR,
            {features}, probabilities JSON NOT NULL, predicted_class BIGINT NOT NULL
        );
        CREATE OR REPLACE VIEW latest_labels AS
            SELECT row_id, prediction_id, label, labelled_at, ingestion_id FROM labels
            QUALIFY row_number() OVER (
                PARTITION BY coalesce(row_id, 'prediction:' || prediction_id)
                ORDER BY coalesce(labelled_at, ingested_at) DESC, ingestion_id DESC) = 1;
        CREATE OR REPLACE VIEW labelled_observations AS
            SELECT o.* REPLACE (coalesce(l.label, o.{label}) AS {label})
            FROM observations AS o
            LEFT JOIN (SELECT row_id, label FROM latest_labels WHERE row_id IS NOT NULL) AS l
                USING (row_id)
            WHERE coalesce(l.label, o.{label}) IS NOT NULL;
        CREATE OR REPLACE VIEW labelled_predictions AS
            SELECT p.*, l.label FROM predictions AS p
            JOIN (SELECT prediction_id, label FROM labels WHERE prediction_id IS NOT NULL
                  QUALIFY row_number() OVER (PARTITION BY prediction_id
                      ORDER BY labelled_at DESC NULLS LAST, ingestion_id DESC) = 1) AS l
                USING (prediction_id);
        """
    )


def labelled_rows(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Observations in partitions [start, end] that have a label, with the newest label."""
    ensure_ingestion_schema(conn, config)
    return conn.execute(
        "SELECT * FROM labelled_observations WHERE partition_date BETWEEN ? AND ? "
        "ORDER BY event_time, row_id",
        [start, end],
    ).df()


def labelled_predictions(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Predictions served on days [start, end] that have feedback, with the newest label."""
    ensure_ingestion_schema(conn, config)
    return conn.execute(
        "SELECT * FROM labelled_predictions WHERE partition_date BETWEEN ? AND ? "
        "ORDER BY served_at, prediction_id",
        [start, end],
    ).df()


def ingest_file(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    path: str | Path,
    source: str | None = None,
    *,
    on_step: StepHook | None = None,
) -> IngestReport:
    """Append a CSV or Parquet file of observations, once; see the module docstring.

    `source` names the batch (default: the file name). `on_step` is called with the name of
    each step inside the transaction ("keys", "written", "quarantined", "recorded"; "replaced"
    first when replacing), for progress logs, and for tests that interrupt a write.
    """
    return _ingest(
        conn,
        config,
        Path(path),
        source,
        on_step,
        kind="observations",
        formats=("csv", "parquet"),
        land=partial(_land_observations, conn, config),
    )


def replace_partitions_from_file(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    path: str | Path,
    source: str | None = None,
    *,
    partition: date | None = None,
    on_step: StepHook | None = None,
) -> IngestReport:
    """Reprocess a file: replace every partition it covers with its good rows, atomically.

    The partitions are `partition` if given (rows of other days are then quarantined), else
    every day on which a row of the file has a readable event time. Their old rows are deleted
    and the file's rows written in one transaction, so readers see all old or all new rows and
    ids never repeat. It runs even if the file was ingested before (see the module docstring).
    """
    return _ingest(
        conn,
        config,
        Path(path),
        source,
        on_step,
        kind="observations",
        formats=("csv", "parquet"),
        land=partial(_land_observations, conn, config, replace=True, partition=partition),
        mode="replace",
    )


@dataclass(frozen=True)
class _Landed:
    parsed: int
    good: int
    quarantined: int
    rejected: int
    per_day: dict[date, int]
    replaced: tuple[date, ...] = ()


def _ingest(conn, config, path, source, on_step, *, kind, formats, land, mode="append"):
    facts = landing.inspect_file(path, formats)
    source = source or path.name
    step = on_step or (lambda name: None)
    ensure_ingestion_schema(conn, config)
    problem = facts.problem
    with landing.utc_session(conn), landing.scratch(conn):
        try:
            with transaction(conn):
                done = landing.previous_outcome(conn, kind, facts.sha256)
                if done is not None and mode == "append":
                    return IngestReport(
                        str(path), kind, "skipped", facts.sha256, facts.size_bytes, reason=done
                    )
                if problem is None:
                    ingestion = landing.start_ingestion(conn, kind, source)
                    landed = land(facts, ingestion, step)
                    if isinstance(landed, str):
                        problem = landed
                    else:
                        return _finish(conn, facts, ingestion, landed, mode, step)
        except duckdb.Error as error:
            if not _unreadable(error):
                raise
            problem = f"unreadable {facts.format} file: {str(error).splitlines()[0]}"
        with transaction(conn):
            ingestion = landing.start_ingestion(conn, kind, source)
            landing.quarantine_file(conn, ingestion, facts, problem)
    return IngestReport(
        str(path),
        kind,
        "quarantined",
        facts.sha256,
        facts.size_bytes,
        ingestion_id=ingestion.ingestion_id,
        mode=mode,
        reason=problem,
    )


def _finish(conn, facts, ingestion, landed: _Landed, mode, step) -> IngestReport:
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
    landing.record_file(conn, ingestion, facts, mode=mode, rows=rows, partitions=recorded)
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
    )


def _reader(facts: landing.FileFacts, *, keep_rejects: bool = False) -> str:
    if facts.format == "csv":
        return landing.csv_reader(facts, keep_rejects=keep_rejects)
    return landing.parquet_reader(facts)


def _read_columns(conn, facts: landing.FileFacts) -> dict[str, str]:
    if facts.format == "csv":
        return dict.fromkeys(facts.header, "VARCHAR")
    return landing.source_types(conn, _reader(facts))


def _land_observations(conn, config, facts, ingestion, step, replace=False, partition=None):
    types = _read_columns(conn, facts)
    id_name, time_name = config.id_column, config.event_time_column
    problem = schema_problem(
        types,
        required={id_name: "identifier", time_name: "timestamp"}
        | {f.name: feature_kind(f) for f in config.features},
        optional={config.label: "class", "batch_id": "identifier"},
    )
    if problem:
        return problem

    def raw(name: str) -> str:
        return f"s.{identifier(name)}" if name in types else "NULL"

    row_id = row_identifier("row_id", raw(id_name), shown_name=id_name)
    event_time = timestamp("event_time", raw(time_name), types[time_name], shown_name=time_name)
    label = class_label(
        config.label,
        raw(config.label),
        config.classes,
        nullable=True,
        source_type=types.get(config.label, "VARCHAR"),
    )
    columns = (row_id, event_time, *(feature(f, raw(f.name)) for f in config.features), label)
    day = f"CAST({value_alias('event_time')} AS DATE)"
    replaced: tuple[date, ...] = ()
    if replace:
        replaced = (partition,) if partition else _days_in(conn, facts, columns, day)
        conn.execute(
            "DELETE FROM observations WHERE partition_date IN (SELECT unnest(?::DATE[]))",
            [list(replaced)],
        )
        step("replaced")
    landing.drop_rejects(conn)
    keys = landing.count_keys(
        conn,
        landing.typed_rows(f"{_reader(facts, keep_rejects=True)} AS s", columns),
        key=value_alias("row_id"),
        day=day,
        taken="SELECT row_id AS key FROM observations",
    )
    step("keys")
    checks = list(key_checks(id_name, value_alias("row_id"), "observations"))
    if partition is not None:
        checks.append(
            check(
                f"{time_name}:partition",
                f"{day} <> DATE '{partition}'",
                f"{literal(time_name + ': ')} || {shown(value_alias('event_time'))} "
                f"|| {literal(f' is outside the partition {partition} being replaced')}",
            )
        )
    batch = "CAST(s.batch_id AS VARCHAR)" if "batch_id" in types else "NULL"
    plan = landing.RowPlan(
        source=f"{_reader(facts)} AS s{keys.join(row_id.value)}",
        columns=columns,
        table="observations",
        values={
            "row_id": value_alias("row_id"),
            "partition_date": day,
            "event_time": value_alias("event_time"),
            "batch_id": f"coalesce(__batch_id, {literal(ingestion.source)})",
            **{identifier(c.name): value_alias(c.name) for c in columns[2:]},
        },
        raw_row="s",
        checks=tuple(checks),
        extras=keys.extras | {"__batch_id": batch},
        row_number="s.file_row_number + 1" if facts.format == "parquet" else "NULL",
        row_id=row_id.value,
        partition=day,
    )
    good, quarantined = landing.land_rows(conn, plan, ingestion, step, rows=keys.rows)
    rejected = landing.land_rejects(conn, ingestion) if facts.format == "csv" else 0
    return _Landed(keys.rows, good, quarantined, rejected, keys.per_day, replaced)


def _days_in(conn, facts, columns, day: str) -> tuple[date, ...]:
    typed = landing.typed_rows(f"{_reader(facts)} AS s", columns)
    rows = conn.execute(
        f"SELECT DISTINCT {day} AS day FROM {typed} WHERE day IS NOT NULL ORDER BY day"
    ).fetchall()
    return tuple(r[0] for r in rows)


def ingest_labels(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    path: str | Path,
    source: str | None = None,
    *,
    on_step: StepHook | None = None,
) -> IngestReport:
    """Append late labels keyed by row id to `labels`, once; see the module docstring.

    Refused: ids not in `observations`, labels outside the classes, an id labelled twice in the
    file with the same `labelled_at`. The report's partitions count the labels per partition
    of the labelled rows.
    """
    return _ingest(
        conn,
        config,
        Path(path),
        source,
        on_step,
        kind="labels",
        formats=("csv", "parquet"),
        land=partial(_land_labels, conn, config),
    )


def _land_labels(conn, config, facts, ingestion, step):
    types = _read_columns(conn, facts)
    id_name = config.id_column
    problem = schema_problem(
        types,
        required={id_name: "identifier", config.label: "class"},
        optional={"labelled_at": "timestamp"},
    )
    if problem:
        return problem
    row_id = row_identifier("row_id", f"s.{identifier(id_name)}", shown_name=id_name)
    label = class_label(
        "label",
        f"s.{identifier(config.label)}",
        config.classes,
        shown_name=config.label,
        nullable=False,
        source_type=types[config.label],
    )
    labelled_at = timestamp(
        "labelled_at",
        "s.labelled_at" if "labelled_at" in types else "NULL",
        types.get("labelled_at", "VARCHAR"),
        nullable=True,
    )
    landing.drop_rejects(conn)
    # same id and same time twice in one file: no way to tell which label is the newer
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ingest_keys AS
        WITH counted AS (
            SELECT {row_id.value} AS key, {labelled_at.value} AS labelled_at, count(*) AS n,
                   grouping({row_id.value}, {labelled_at.value}) AS grouping_set
            FROM {_reader(facts, keep_rejects=True)} AS s
            GROUP BY GROUPING SETS (({row_id.value}, {labelled_at.value}), ())
        )
        SELECT *, grouping_set = 0 AND key NOT IN (SELECT row_id FROM observations) AS unknown
        FROM counted
        WHERE grouping_set = 3 OR (key IS NOT NULL AND (n > 1 OR unknown))
        """
    )
    parsed = conn.execute("SELECT n FROM ingest_keys WHERE grouping_set = 3").fetchone()[0]
    step("keys")
    said = f"{literal(id_name + ': ')} || {shown(value_alias('row_id'))}"
    plan = landing.RowPlan(
        source=f"{_reader(facts)} AS s LEFT JOIN ingest_keys AS k ON k.grouping_set = 0 "
        f"AND k.key = {row_id.value} AND k.labelled_at IS NOT DISTINCT FROM {labelled_at.value}",
        columns=(row_id, label, labelled_at),
        table="labels",
        values={
            "ingestion_id": str(ingestion.ingestion_id),
            "source": literal(ingestion.source),
            "row_id": value_alias("row_id"),
            "label": value_alias("label"),
            "labelled_at": value_alias("labelled_at"),
            "ingested_at": f"TIMESTAMP '{ingestion.ingested_at}'",
        },
        raw_row="s",
        checks=(
            check(
                f"{id_name}:duplicate",
                "__copies > 1",
                f"{said} || ' is labelled ' || __copies || ' times in this file at the same "
                "labelled_at'",
            ),
            check(f"{id_name}:unknown", "__unknown", f"{said} || ' is not in observations'"),
        ),
        extras={"__copies": "k.n", "__unknown": "k.unknown"},
        row_number="s.file_row_number + 1" if facts.format == "parquet" else "NULL",
        row_id=row_id.value,
    )
    good, quarantined = landing.land_rows(conn, plan, ingestion, step)
    rejected = landing.land_rejects(conn, ingestion) if facts.format == "csv" else 0
    per_day = dict(
        conn.execute(
            "SELECT o.partition_date, count(*) FROM labels AS l JOIN observations AS o "
            "USING (row_id) WHERE l.ingestion_id = ? GROUP BY ALL",
            [ingestion.ingestion_id],
        ).fetchall()
    )
    return _Landed(parsed, good, quarantined, rejected, per_day)


def ingest_prediction_log(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    path: str | Path,
    source: str | None = None,
    *,
    on_step: StepHook | None = None,
) -> IngestReport:
    """Land a JSONL prediction log: predictions to `predictions`, feedback to `labels`, once.

    Refused lines: not JSON, not an object, an unknown `kind`, a field that breaks its rule
    (the features follow the dataset config), a prediction id repeated in the file or already
    ingested, feedback for an unknown prediction or repeated with the same `received_at`.
    """
    return _ingest(
        conn,
        config,
        Path(path),
        source,
        on_step,
        kind="predictions",
        formats=("jsonl",),
        land=partial(_land_log, conn, config),
    )


def _field(name: str) -> str:
    return f"s.doc->>{literal(name)}"


def _when(condition: str, column: Column) -> Column:
    """The column's checks, applied only to rows where `condition` holds."""
    guarded = tuple(Check(c.rule, f"({condition} AND {c.failed})", c.reason) for c in column.checks)
    return Column(column.name, column.raw, column.value, guarded)


def _probabilities(classes) -> Column:
    keys = [str(int(c)) for c in sorted(classes, key=str)]
    probabilities = raw_alias("probabilities")
    each = [f"TRY_CAST({probabilities}->>{literal(k)} AS DOUBLE)" for k in keys]
    valid = (
        f"json_type({probabilities}) = 'OBJECT' "
        f"AND list_sort(json_keys({probabilities})) = [{', '.join(map(literal, keys))}] "
        + "".join(f"AND {p} BETWEEN 0 AND 1 " for p in each)
        + f"AND abs({' + '.join(each)} - 1) <= 1e-6"
    )
    reason = f"'probabilities: ' || coalesce({shown(probabilities)}, 'missing') || " + literal(
        f" must map each class {', '.join(keys)} to a probability, summing to 1"
    )
    check_ = Check("probabilities:distribution", f"NOT coalesce({valid}, false)", reason)
    raw = "s.doc->'probabilities'"
    return Column("probabilities", raw, raw, (check_,))


def _land_log(conn, config, facts, ingestion, step):
    landing.drop_rejects(conn)
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE ingest_log_lines AS "
        "SELECT line, CASE WHEN json_valid(line) THEN CAST(line AS JSON) END AS doc, "
        "doc->>'kind' AS kind "
        # blank lines (spaces, tabs, a stray CR) carry no record
        f"FROM {landing.lines_reader(facts)} WHERE trim(line, ' \t\r') <> ''"
    )
    parsed = conn.execute("SELECT count(*) FROM ingest_log_lines").fetchone()[0]
    is_prediction = "__kind = 'prediction'"
    prediction_id = row_identifier("prediction_id", _field("prediction_id"))
    served_at = timestamp("served_at", _field("served_at"), "VARCHAR")
    model_version = number("model_version", _field("model_version"), minimum=0)
    columns = [
        prediction_id,
        served_at,
        model_version,
        number("latency_ms", _field("latency_ms"), minimum=0),
        *(feature(spec, f"s.doc->'features'->>{literal(spec.name)}") for spec in config.features),
        _probabilities(config.classes),
        class_label("predicted_class", _field("predicted_class"), config.classes, nullable=False),
        Column("row_id", _field("row_id"), _field("row_id"), ()),
    ]
    predictions_only = "(SELECT * FROM ingest_log_lines WHERE kind = 'prediction') AS s"
    keys = landing.count_keys(
        conn,
        landing.typed_rows(predictions_only, (prediction_id, served_at)),
        key=value_alias("prediction_id"),
        day=f"CAST({value_alias('served_at')} AS DATE)",
        taken="SELECT prediction_id AS key FROM predictions",
    )
    step("keys")
    version = value_alias("model_version")
    record_checks = (
        check(
            "model_version:integer",
            f"{version} <> floor({version})",
            f"'model_version: ' || {shown(version)} || ' is not an integer'",
        ),
        *key_checks("prediction_id", value_alias("prediction_id"), "predictions"),
    )
    day = f"CASE WHEN {is_prediction} THEN CAST({value_alias('served_at')} AS DATE) END"
    predictions = landing.RowPlan(
        source=f"ingest_log_lines AS s{keys.join(prediction_id.value)}",
        columns=tuple(_when(is_prediction, c) for c in columns),
        table="predictions",
        values={
            "ingestion_id": str(ingestion.ingestion_id),
            "partition_date": day,
            "model_version": f"CAST({version} AS BIGINT)",
            **{
                identifier(c.name): value_alias(c.name)
                for c in columns
                if c.name != "model_version"
            },
        },
        raw_row="coalesce(s.doc, to_json(s.line))",
        checks=(
            check("line:json", "__doc IS NULL", "'line is not valid JSON'"),
            check(
                "line:object",
                "json_type(__doc) <> 'OBJECT'",
                "'line is a JSON ' || lower(json_type(__doc)) || ', not an object'",
            ),
            check(
                "kind:unknown",
                f"json_type(__doc) = 'OBJECT' AND NOT {is_prediction}",
                "'kind: ' || coalesce(" + shown("__kind") + ", 'missing') || "
                "' is neither ''prediction'' nor ''feedback'''",
            ),
            *(Check(c.rule, f"({is_prediction} AND {c.failed})", c.reason) for c in record_checks),
        ),
        extras={"__doc": "s.doc", "__kind": "s.kind"} | keys.extras,
        row_id=prediction_id.value,
        partition=day,
        where="s.kind IS DISTINCT FROM 'feedback'",
    )
    good, quarantined = landing.land_rows(conn, predictions, ingestion, step)
    feedback_good, feedback_quarantined = _land_feedback(conn, config, ingestion, step)
    rejected = landing.land_rejects(conn, ingestion)
    return _Landed(
        parsed, good + feedback_good, quarantined + feedback_quarantined, rejected, keys.per_day
    )


def _land_feedback(conn, config, ingestion, step) -> tuple[int, int]:
    prediction_id = row_identifier("prediction_id", _field("prediction_id"))
    label = class_label("label", _field("label"), config.classes, nullable=False)
    received_at = timestamp("received_at", _field("received_at"), "VARCHAR")
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ingest_feedback_keys AS
        SELECT {prediction_id.value} AS key, {received_at.value} AS received_at, count(*) AS n
        FROM ingest_log_lines AS s WHERE kind = 'feedback' GROUP BY ALL HAVING n > 1
        """
    )
    said = f"'prediction_id: ' || {shown(value_alias('prediction_id'))}"
    plan = landing.RowPlan(
        source="ingest_log_lines AS s "
        f"LEFT JOIN predictions AS p ON p.prediction_id = {prediction_id.value} "
        f"LEFT JOIN ingest_feedback_keys AS k ON k.key = {prediction_id.value} "
        f"AND k.received_at IS NOT DISTINCT FROM {received_at.value}",
        columns=(prediction_id, label, received_at),
        table="labels",
        values={
            "ingestion_id": str(ingestion.ingestion_id),
            "source": literal(ingestion.source),
            "row_id": "__row_id",
            "prediction_id": value_alias("prediction_id"),
            "label": value_alias("label"),
            "labelled_at": value_alias("received_at"),
            "ingested_at": f"TIMESTAMP '{ingestion.ingested_at}'",
        },
        raw_row="s.doc",
        checks=(
            check(
                "prediction_id:unknown",
                f"{value_alias('prediction_id')} IS NOT NULL AND __known_prediction IS NULL",
                f"{said} || ' is not a known prediction'",
            ),
            check(
                "prediction_id:duplicate",
                "__copies > 1",
                f"{said} || ' has ' || __copies || ' feedback lines at the same received_at'",
            ),
        ),
        extras={"__known_prediction": "p.prediction_id", "__row_id": "p.row_id", "__copies": "k.n"},
        row_id=prediction_id.value,
        where="s.kind = 'feedback'",
    )
    return landing.land_rows(conn, plan, ingestion, step)
