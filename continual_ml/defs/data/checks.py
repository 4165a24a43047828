"""Validation of each landed partition; blocking, and training leaves failed partitions out."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml.defs.data.assets import WAREHOUSE_POOL, observations, partition_day
from continual_ml.defs.resources import DatasetResource
from continual_ml.ingestion.partition_checks import check_partition, record_verdict
from continual_ml.warehouse.schema import apply_schema


@dg.asset_check(asset=observations, blocking=True, pool=WAREHOUSE_POOL)
def observations_are_valid(
    context: dg.AssetCheckExecutionContext, dataset: DatasetResource, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Schema, nulls, ranges, categories, label domain, duplicate ids and row count all hold."""
    config, day = dataset.config, partition_day(context)
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        failures = check_partition(conn, config, day)
        record_verdict(conn, day, failures)
    return dg.AssetCheckResult(
        passed=not failures,
        metadata={
            "failed_rules": len(failures),
            **{rule: str(detail) for rule, detail in failures.items()},
        },
    )
