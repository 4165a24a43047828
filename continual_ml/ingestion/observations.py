"""Landing files of observations: appended once, or replacing the partitions they cover."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path

import duckdb

from continual_ml.config import DatasetConfig
from continual_ml.ingestion import routing
from continual_ml.ingestion.core import TABULAR, IngestReport, Landed, StepHook, ingest
from continual_ml.ingestion.readers import drop_rejects, tabular_columns, tabular_reader
from continual_ml.ingestion.rules import (
    feature,
    feature_kind,
    label_kind,
    row_identifier,
    schema_problem,
    timestamp,
)
from continual_ml.ingestion.rules import label as label_column
from continual_ml.ingestion.sql_text import (
    check,
    identifier,
    key_checks,
    literal,
    shown,
    value_alias,
)


def ingest_file(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    path: str | Path,
    source: str | None = None,
    *,
    on_step: StepHook | None = None,
) -> IngestReport:
    """Append a CSV or Parquet file of observations, once; see `continual_ml.ingestion`.

    `source` names the batch (default: the file name). `on_step` is called with the name of
    each step inside the transaction ("keys", "written", "quarantined", "recorded"; "replaced"
    first when replacing), for progress logs, and for tests that interrupt a write.
    """
    return ingest(
        conn, config, path, source, on_step, kind="observations", formats=TABULAR, land=_land
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
    ids never repeat. It runs even if the file was ingested before (see `continual_ml.ingestion`).
    """
    return ingest(
        conn,
        config,
        path,
        source,
        on_step,
        kind="observations",
        formats=TABULAR,
        land=partial(_land, replace=True, partition=partition),
        mode="replace",
    )


def _land(conn, config, facts, ingestion, step, replace=False, partition=None):
    types = tabular_columns(conn, facts)
    id_name, time_name = config.id_column, config.event_time_column
    problem = schema_problem(
        types,
        required={id_name: "identifier", time_name: "timestamp"}
        | {f.name: feature_kind(f) for f in config.features},
        optional={config.label: label_kind(config), "batch_id": "identifier"},
    )
    if problem:
        return problem

    def raw(name: str) -> str:
        return f"s.{identifier(name)}" if name in types else "NULL"

    row_id = row_identifier("row_id", raw(id_name), shown_name=id_name)
    event_time = timestamp("event_time", raw(time_name), types[time_name], shown_name=time_name)
    label = label_column(
        config,
        config.label,
        raw(config.label),
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
    drop_rejects(conn)
    keys = routing.count_keys(
        conn,
        routing.typed_rows(f"{tabular_reader(facts, keep_rejects=True)} AS s", columns),
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
    plan = routing.RowPlan(
        source=f"{tabular_reader(facts)} AS s{keys.join(row_id.value)}",
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
    good, quarantined = routing.land_rows(conn, plan, ingestion, step, rows=keys.rows)
    rejected = routing.land_rejects(conn, ingestion) if facts.format == "csv" else 0
    return Landed(keys.rows, good, quarantined, rejected, keys.per_day, replaced)


def _days_in(conn, facts, columns, day: str) -> tuple[date, ...]:
    typed = routing.typed_rows(f"{tabular_reader(facts)} AS s", columns)
    rows = conn.execute(
        f"SELECT DISTINCT {day} AS day FROM {typed} WHERE day IS NOT NULL ORDER BY day"
    ).fetchall()
    return tuple(r[0] for r in rows)
