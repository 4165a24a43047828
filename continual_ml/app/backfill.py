"""Monitoring ingested history in one run: which assets, and which days by default.

`continual-ml ingest` lands a history file (its `observations`, day by day); a backfill then
measures every day of it, `current_window` and `reference_window` through `drift_report` and
`model_performance`, as one run over the partition range: the assets' single-run backfill
policy lets them loop over the days with one process, one connection and one reference profile.
"""

from __future__ import annotations

from datetime import date

from continual_ml.config import Paths
from continual_ml.warehouse.connection import (
    warehouse_connection,
    warehouse_exists,
    warehouse_location,
)

BACKFILL_ASSETS = ("current_window", "reference_window", "drift_report", "model_performance")


def ingested_days(paths: Paths) -> tuple[date, date] | None:
    """The first and last day with observations in the warehouse, if any."""
    location = warehouse_location(paths)
    if not warehouse_exists(location):
        return None
    with warehouse_connection(location, read_only=True) as conn:
        tables = {name for (name,) in conn.execute("SHOW TABLES").fetchall()}
        if "observations" not in tables:
            return None
        first, last = conn.execute(
            "SELECT min(partition_date), max(partition_date) FROM observations"
        ).fetchone()
    return (first, last) if first is not None else None


def backfill_range(paths: Paths, start: str | None, end: str | None) -> tuple[date, date]:
    """The days to backfill: those given, else the ingested ones; a clear error otherwise."""
    ingested = ingested_days(paths)
    if ingested is None and (start is None or end is None):
        raise ValueError(
            f"no observations in {warehouse_location(paths).describe()}: ingest your history first "
            "(continual-ml ingest FILE_OR_FOLDER), or give --start and --end"
        )
    first = date.fromisoformat(start) if start else ingested[0]
    last = date.fromisoformat(end) if end else ingested[1]
    if first > last:
        raise ValueError(f"--start {first} is after --end {last}")
    return first, last


def run_backfill(paths: Paths, start: date, end: date):
    """Monitor the days [start, end] as one run on the local instance (the UI shows it); the
    run's result. A single-run backfill, as the UI's or `dagster asset materialize
    --partition-range` would launch it."""
    import dagster as dg

    from continual_ml.app.first_champion import QUIET_RUN_CONFIG, bound_definitions

    job = bound_definitions(paths).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        asset_selection=[dg.AssetKey(name) for name in BACKFILL_ASSETS],
        run_config=QUIET_RUN_CONFIG,
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            "continual_ml/trigger": "backfill",
        },
        raise_on_error=False,
    )
