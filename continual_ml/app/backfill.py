"""Monitoring ingested history in one run: which assets, and which days by default.

`continual-ml ingest` lands a history file (its `observations`, day by day); a backfill then
measures every day of it, `current_window` and `reference_window` through `drift_report` and
`model_performance`, as one run over a partition range: the assets' single-run backfill policy
lets them loop over the days with one process, one connection and one reference profile. By
default only the days that hold data are covered (`backfill_ranges`).
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


#: Days without data inside one run's range: monitoring an empty day costs less than starting
#: another run, so stretches of data closer than this are monitored together.
MAX_GAP_DAYS = 7


def ingested_days(paths: Paths) -> list[date]:
    """The days with observations in the warehouse, oldest first (none without a warehouse)."""
    location = warehouse_location(paths)
    if not warehouse_exists(location):
        return []
    with warehouse_connection(location, read_only=True) as conn:
        tables = {name for (name,) in conn.execute("SHOW TABLES").fetchall()}
        if "observations" not in tables:
            return []
        rows = conn.execute(
            "SELECT DISTINCT partition_date FROM observations ORDER BY partition_date"
        ).fetchall()
    return [day for (day,) in rows]


def data_stretches(days: list[date], max_gap: int = MAX_GAP_DAYS) -> list[tuple[date, date]]:
    """Ranges covering `days` (sorted): a new range where more than `max_gap` empty days part
    two days with data.

    Examples
    --------
    >>> d = date.fromisoformat
    >>> data_stretches([d("2024-01-01"), d("2024-01-03"), d("2025-06-30"), d("2026-12-31")])
    [(datetime.date(2024, 1, 1), datetime.date(2024, 1, 3)), (datetime.date(2025, 6, 30), datetime.date(2025, 6, 30)), (datetime.date(2026, 12, 31), datetime.date(2026, 12, 31))]
    """  # noqa: E501
    stretches: list[tuple[date, date]] = []
    for day in days:
        if stretches and (day - stretches[-1][1]).days - 1 <= max_gap:
            stretches[-1] = (stretches[-1][0], day)
        else:
            stretches.append((day, day))
    return stretches


def backfill_ranges(paths: Paths, start: str | None, end: str | None) -> list[tuple[date, date]]:
    """The ranges to backfill, one run each: the days given (both ends), else the stretches of
    ingested days with data between the ends given; a clear error when there are none.

    Without a range, the calendar days between the first and last ingested day are not all
    monitored: history with data on a few days years apart takes a few short runs, not one over
    every day between them.
    """
    first = date.fromisoformat(start) if start else None
    last = date.fromisoformat(end) if end else None
    if first and last and first > last:
        raise ValueError(f"--start {first} is after --end {last}")
    if first and last:
        return [(first, last)]
    days = ingested_days(paths)
    if not days:
        raise ValueError(
            f"no observations in {warehouse_location(paths).describe()}: ingest your history first "
            "(continual-ml ingest FILE_OR_FOLDER), or give --start and --end"
        )
    chosen = [d for d in days if (first is None or d >= first) and (last is None or d <= last)]
    if not chosen:
        raise ValueError(f"no ingested day between {first or days[0]} and {last or days[-1]}")
    return data_stretches(chosen)


def backfill_summary(ranges: list[tuple[date, date]], run_ids: list[str]) -> str:
    """What `continual-ml backfill` did, in one line."""
    days = sum((last - first).days + 1 for first, last in ranges)
    span = f"{ranges[0][0]} .. {ranges[-1][1]}"
    if len(ranges) == 1:
        return f"monitored {days} days, {span}, in one run ({run_ids[0]})"
    calendar = (ranges[-1][1] - ranges[0][0]).days + 1
    return (
        f"monitored {days} days, {span}, in {len(ranges)} runs ({', '.join(run_ids)}); "
        f"{calendar - days} days without observations between them were skipped"
    )


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
