"""Landing files of late labels into `labels`, a history that never rewrites `observations`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from continual_ml.config import DatasetConfig
from continual_ml.ingestion import routing
from continual_ml.ingestion.core import TABULAR, IngestReport, Landed, StepHook, ingest
from continual_ml.ingestion.ledger import Ingestion, label_counts
from continual_ml.ingestion.readers import drop_rejects, tabular_columns, tabular_reader
from continual_ml.ingestion.rules import label as label_column
from continual_ml.ingestion.rules import (
    label_kind,
    row_identifier,
    schema_problem,
    timestamp,
)
from continual_ml.ingestion.sql_text import check, identifier, literal, shown, value_alias
from continual_ml.warehouse.labelled_rows import labelled_partitions


def ingest_labels(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    path: str | Path,
    source: str | None = None,
    *,
    on_step: StepHook | None = None,
    force: bool = False,
) -> IngestReport:
    """Append late labels keyed by row id to `labels`, once; see `continual_ml.ingestion`.

    Refused: labels outside the classes, an id labelled twice in the file with the same
    `labelled_at`. A label whose row is not in `observations` yet is kept and waits for it (the
    labelled views join on the row id when the row lands); the report counts those as
    `waiting`, except labels for rows that were quarantined, counted as `for_quarantined_rows`
    and not waited for (see `ledger.label_counts`). Its partitions count the labels per
    partition of the labelled rows. `force` lands a file seen before again (its labels become
    the newest), e.g. after a config fix.
    """
    return ingest(
        conn,
        config,
        path,
        source,
        on_step,
        kind="labels",
        formats=TABULAR,
        land=_land_labels,
        force=force,
    )


def label_values(ingestion: Ingestion, row_id: str, labelled_at: str, **more: str) -> dict:
    """What a landing plan writes to `labels`: the row labelled, the plan's `label` column, when
    it was given, `more` columns (SQL over the plan's aliases), and the ingestion's own columns."""
    return {
        "ingestion_id": str(ingestion.ingestion_id),
        "source": literal(ingestion.source),
        "row_id": row_id,
        **more,
        "label": value_alias("label"),
        "labelled_at": labelled_at,
        "ingested_at": f"TIMESTAMP '{ingestion.ingested_at}'",
    }


def _land_labels(conn, config, facts, ingestion, step):
    types = tabular_columns(conn, facts)
    id_name = config.id_column
    problem = schema_problem(
        types,
        required={id_name: "identifier", config.label: label_kind(config)},
        optional={"labelled_at": "timestamp"},
    )
    if problem:
        return problem
    row_id = row_identifier("row_id", f"s.{identifier(id_name)}", shown_name=id_name)
    label = label_column(
        config,
        "label",
        f"s.{identifier(config.label)}",
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
    drop_rejects(conn)
    # same id and same time twice in one file: no way to tell which label is the newer
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ingest_keys AS
        WITH counted AS (
            SELECT {row_id.value} AS key, {labelled_at.value} AS labelled_at, count(*) AS n,
                   grouping({row_id.value}, {labelled_at.value}) AS grouping_set
            FROM {tabular_reader(facts, keep_rejects=True)} AS s
            GROUP BY GROUPING SETS (({row_id.value}, {labelled_at.value}), ())
        )
        SELECT * FROM counted WHERE grouping_set = 3 OR (key IS NOT NULL AND n > 1)
        """
    )
    parsed = conn.execute("SELECT n FROM ingest_keys WHERE grouping_set = 3").fetchone()[0]
    step("keys")
    said = f"{literal(id_name + ': ')} || {shown(value_alias('row_id'))}"
    plan = routing.RowPlan(
        source=f"{tabular_reader(facts)} AS s LEFT JOIN ingest_keys AS k ON k.grouping_set = 0 "
        f"AND k.key = {row_id.value} AND k.labelled_at IS NOT DISTINCT FROM {labelled_at.value}",
        columns=(row_id, label, labelled_at),
        table="labels",
        values=label_values(ingestion, value_alias("row_id"), value_alias("labelled_at")),
        raw_row="s",
        checks=(
            check(
                f"{id_name}:duplicate",
                "__copies > 1",
                f"{said} || ' is labelled ' || __copies || ' times in this file at the same "
                "labelled_at'",
            ),
        ),
        extras={"__copies": "k.n"},
        row_number="s.file_row_number + 1" if facts.format == "parquet" else "NULL",
        row_id=row_id.value,
    )
    good, quarantined = routing.land_rows(conn, plan, ingestion, step)
    rejected = routing.land_rejects(conn, ingestion) if facts.format == "csv" else 0
    per_day = labelled_partitions(conn, ingestion.ingestion_id)
    counts = label_counts(conn, ingestion.ingestion_id)
    return Landed(
        parsed,
        good,
        quarantined,
        rejected,
        per_day,
        waiting=counts.waiting,
        for_quarantined_rows=counts.for_quarantined_rows,
    )
