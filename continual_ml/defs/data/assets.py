"""Observed batches and the reference and current windows derived from them."""

from datetime import date, timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml import registry, warehouse
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.resources import DatasetResource
from continual_ml.synthetic_stream import generate_batch

WAREHOUSE_POOL = "duckdb_warehouse"


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


@dg.asset(
    partitions_def=daily_partitions,
    group_name="data",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
)
def observations(
    context: dg.AssetExecutionContext, dataset: DatasetResource, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Labelled rows observed on the partition's day, one row per event."""
    config, day = dataset.config, partition_day(context)
    rows = generate_batch(config, day)
    rows["partition_date"] = day
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, config)
        n_rows = warehouse.replace_rows(conn, "observations", rows, partition=day)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n_rows,
            "batch_id": rows["batch_id"].iloc[0],
            "positive_rate": float(rows[config.label].mean()),
            "preview": dg.MetadataValue.md(rows.head(5).to_markdown(index=False)),
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
        warehouse.ensure_schema(conn, dataset.config)
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
    """The rows the serving champion was trained on: what 'no drift' looks like."""
    config, day = dataset.config, partition_day(context)
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, config)
        champion = registry.current_champion(conn)
        if champion is None:
            # Before any model exists, the first training window stands in for the reference.
            start = config.stream.start_date
            end = start + timedelta(days=config.model.training_window_days - 1)
            version = None
        else:
            start, end = champion["training_start"], champion["training_end"]
            version = champion["version"]
        n_rows = warehouse.record_window(conn, day, "reference", start, end, version)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n_rows,
            "window": f"{start} .. {end}",
            "champion_version": version if version is not None else "none",
        }
    )
