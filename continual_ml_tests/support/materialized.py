"""What a materialization recorded, and what the warehouse holds after it."""

import dagster as dg
import duckdb

from continual_ml.defs.data.assets import current_window, reference_window
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.monitoring.performance import model_performance
from continual_ml.defs.resources import build_resources


def metadata(result, asset) -> dict:
    """The metadata of `asset`'s one materialization in `result`, as plain values."""
    [event] = result.asset_materializations_for_node(asset.op.name)
    return {k: v.value for k, v in event.metadata.items()}


def query(home, sql, params=()) -> list[tuple]:
    """Rows of a read-only query on the home's warehouse."""
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def day_measured(home, instance, partition: str):
    """A landed day's monitoring materialized in process: its windows, drift and performance."""
    return dg.materialize(
        [current_window, reference_window, drift_report, model_performance],
        partition_key=partition,
        resources=build_resources(home),
        instance=instance,
    )
