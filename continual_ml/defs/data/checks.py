"""Validation of each landed partition; blocking, and training leaves failed partitions out."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml.defs.data.assets import observations
from continual_ml.defs.partitions import WAREHOUSE_POOL, partition_days
from continual_ml.defs.resources import DatasetResource
from continual_ml.ingestion.partition_checks import check_partition, record_verdict
from continual_ml.warehouse.schema import apply_schema


@dg.asset_check(asset=observations, blocking=True, pool=WAREHOUSE_POOL)
def observations_are_valid(
    context: dg.AssetCheckExecutionContext, dataset: DatasetResource, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Schema, nulls, ranges, categories, label domain, duplicate ids and row count all hold."""
    config, days = dataset.config, partition_days(context.op_execution_context)
    failed = {}
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        for day in days:
            if failures := check_partition(conn, config, day):
                failed[day] = failures
            record_verdict(conn, day, failures)
    # A day that fails blocks its own monitoring; in a run over several days it does not hold
    # back the others (a warning): its verdict is recorded, so training leaves it out and the
    # policy reads it as failed.
    severity = dg.AssetCheckSeverity.ERROR
    if len(days) > 1 and len(failed) < len(days):
        severity = dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        passed=not failed,
        severity=severity,
        metadata={
            "failed_rules": sum(len(failures) for failures in failed.values()),
            **{
                (rule if len(days) == 1 else f"{day}:{rule}"): str(detail)
                for day, failures in failed.items()
                for rule, detail in failures.items()
            },
        },
    )
