"""Observed batches and the reference and current windows derived from them."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml import ingestion, warehouse
from continual_ml.defs.data.reporting import alert_on_quarantine, observation_events
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.warehouse import registry
from continual_ml.warehouse.schema import apply_schema

WAREHOUSE_POOL = "duckdb_warehouse"


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


class ObservationsConfig(dg.Config):
    """Files landed for this day; with none, the day's rows already in the warehouse."""

    landed_files: list[str] = []


@dg.asset(
    partitions_def=daily_partitions,
    group_name="data",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
)
def observations(
    context: dg.AssetExecutionContext,
    config: ObservationsConfig,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """Labelled rows observed on the partition's day, one row per event."""
    settings = dataset.config
    if config.landed_files:
        return _ingest_landed(context, config.landed_files, settings, duckdb, alerts)
    with duckdb.get_connection() as conn:
        apply_schema(conn, settings)
        return _already_ingested(conn, context.partition_key)


def _already_ingested(conn, day: str) -> dg.MaterializeResult:
    """Record a day whose files were ingested before (`continual-ml ingest`, a replay): rows
    are never made up, for your dataset or the demo's."""
    n_rows = conn.execute(
        "SELECT count(*) FROM observations WHERE partition_date = ?", [day]
    ).fetchone()[0]
    if not n_rows:
        raise dg.Failure(
            f"no observations for {day}: land its files or `continual-ml ingest` them; "
            "rows are never made up"
        )
    return dg.MaterializeResult(
        metadata={"dagster/row_count": n_rows, "source": "already in the warehouse"}
    )


def _ingest_landed(context, paths, settings, duckdb, alerts) -> dg.MaterializeResult:
    """Append the landed files through the validated, exactly-once ingestion path."""
    reports = []
    with duckdb.get_connection() as conn:
        apply_schema(conn, settings)
        for path in paths:
            reports.append(ingestion.ingest_file(conn, settings, path))
            context.log.info(reports[-1].summary())
        n_rows = conn.execute(
            "SELECT count(*) FROM observations WHERE partition_date = ?", [context.partition_key]
        ).fetchone()[0]
    for report in reports:
        # Rows of another day are in the warehouse all the same; say where they went.
        for event in observation_events(report, skip=context.partition_key):
            context.log_event(event)
        alert_on_quarantine(report, alerts, context.log)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n_rows,
            "sources": ", ".join(f"{Path(r.path).name} ({r.status})" for r in reports),
            "rows_quarantined_from_files": sum(r.rows_quarantined for r in reports),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="data",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[observations],
)
def current_window(
    context: dg.AssetExecutionContext, dataset: DatasetResource, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """The batch that monitoring compares with the reference: the partition's own rows."""
    day = partition_day(context)
    with duckdb.get_connection() as conn:
        apply_schema(conn, dataset.config)
        n_rows = warehouse.record_window(conn, day, "current", day, day, None)
    return dg.MaterializeResult(metadata={"dagster/row_count": n_rows, "window": f"{day} .. {day}"})


@dg.asset(
    partitions_def=daily_partitions,
    group_name="data",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[observations],
)
def reference_window(
    context: dg.AssetExecutionContext, dataset: DatasetResource, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """The newest rows the serving champion is known to handle: what 'no drift' looks like."""
    config, day = dataset.config, partition_day(context)
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        champion = registry.current_champion(conn)
        if champion is None:
            # Before any model exists, the first training window stands in for the reference.
            start = config.partitions_start
            end = start + timedelta(days=config.model.training_window_days - 1)
            version = None
        else:
            start, end = registry.known_window(conn, champion)
            version = champion["version"]
        n_rows = warehouse.record_window(conn, day, "reference", start, end, version)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n_rows,
            "window": f"{start} .. {end}",
            "champion_version": version if version is not None else "none",
        }
    )
