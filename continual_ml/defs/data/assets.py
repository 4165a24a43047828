"""Observed batches and the reference and current windows derived from them."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml import ingestion, warehouse
from continual_ml.defs.data.reporting import alert_on_quarantine, observation_events
from continual_ml.defs.partitions import (
    partition_days,
    per_day_asset,
)
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.warehouse import registry
from continual_ml.warehouse.schema import apply_schema


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


class ObservationsConfig(dg.Config):
    """Files landed for these days; with none, the days' rows already in the warehouse."""

    landed_files: list[str] = []


@per_day_asset(
    group_name="data",
    kinds={"duckdb", "python"},
)
def observations(
    context: dg.AssetExecutionContext,
    config: ObservationsConfig,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """Labelled rows observed on the partition's day, one row per event."""
    settings, days = dataset.config, partition_days(context)
    if config.landed_files:
        return _ingest_landed(context, config.landed_files, settings, duckdb, alerts)
    with duckdb.get_connection() as conn:
        apply_schema(conn, settings)
        # Data comes in files (`continual-ml ingest`, the landing folder, the demo's days): a run
        # without one records what the warehouse holds, and never makes rows up.
        return _already_ingested(context, conn, days)


def _rows_per_day(conn, days: list[date]) -> dict[date, int]:
    return dict(
        conn.execute(
            "SELECT partition_date, count(*) FROM observations "
            "WHERE partition_date BETWEEN ? AND ? GROUP BY ALL",
            [days[0], days[-1]],
        ).fetchall()
    )


def _already_ingested(context, conn, days: list[date]) -> dg.MaterializeResult:
    counts = _rows_per_day(conn, days)
    missing = [day for day in days if not counts.get(day)]
    if missing:
        raise dg.Failure(
            f"no observations for {len(missing)} day(s) ({missing[0]} first): land their files "
            "or `continual-ml ingest` them; rows are never made up for your dataset"
        )
    for day in days:
        context.add_asset_metadata(
            {"dagster/row_count": counts[day], "source": "already in the warehouse"},
            partition_key=str(day),
        )
    return dg.MaterializeResult()


def _ingest_landed(context, paths, settings, duckdb, alerts) -> dg.MaterializeResult:
    """Append the landed files through the validated, exactly-once ingestion path."""
    days, reports = partition_days(context), []
    with duckdb.get_connection() as conn:
        apply_schema(conn, settings)
        for path in paths:
            reports.append(ingestion.ingest_file(conn, settings, path))
            context.log.info(reports[-1].summary())
        counts = _rows_per_day(conn, days)
    for report in reports:
        # Rows of other days are in the warehouse all the same; say where they went.
        for event in observation_events(report, skip={str(day) for day in days}):
            context.log_event(event)
        alert_on_quarantine(report, alerts, context.log)
    for day in days:
        context.add_asset_metadata(
            {"dagster/row_count": counts.get(day, 0)}, partition_key=str(day)
        )
    return dg.MaterializeResult(
        metadata={
            "sources": ", ".join(f"{Path(r.path).name} ({r.status})" for r in reports),
            "rows_quarantined_from_files": sum(r.rows_quarantined for r in reports),
        }
    )


# The reference and current windows: per-day DuckDB tables drawn from the day's observations.
window_asset = per_day_asset(group_name="data", kinds={"duckdb"}, deps=[observations])


@window_asset
def current_window(
    context: dg.AssetExecutionContext, dataset: DatasetResource, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """The batch that monitoring compares with the reference: the partition's own rows."""
    with duckdb.get_connection() as conn:
        apply_schema(conn, dataset.config)
        for day in partition_days(context):
            n_rows = warehouse.record_window(conn, day, "current", day, day, None)
            context.add_asset_metadata(
                {"dagster/row_count": n_rows, "window": f"{day} .. {day}"}, partition_key=str(day)
            )
    return dg.MaterializeResult()


@window_asset
def reference_window(
    context: dg.AssetExecutionContext, dataset: DatasetResource, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """The newest rows the serving champion is known to handle: what 'no drift' looks like."""
    config = dataset.config
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
        for day in partition_days(context):
            n_rows = warehouse.record_window(conn, day, "reference", start, end, version)
            context.add_asset_metadata(
                {
                    "dagster/row_count": n_rows,
                    "window": f"{start} .. {end}",
                    "champion_version": version if version is not None else "none",
                },
                partition_key=str(day),
            )
    return dg.MaterializeResult()
