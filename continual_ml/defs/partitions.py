"""The daily partitioning every per-batch asset shares, and the days a run covers."""

from datetime import date, timedelta

import dagster as dg

from continual_ml.config import default_config
from continual_ml.settings import Settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=default_config().partitions_start.isoformat()
)

# A backfill of any length is one run: launching a run (a process, its imports) costs more than
# monitoring a day, so each per-day asset loops over the days of its run in one step, with one
# DuckDB connection. The sensors ask for ranges the same way when several days are pending.
ONE_RUN_PER_BACKFILL = dg.BackfillPolicy.single_run()
# Every per-partition step that writes the warehouse claims a slot of this pool: one on the DuckDB
# file (one writer at a time, by design), N on DuckLake (`dagster instance concurrency set`).
WAREHOUSE_POOL = "duckdb_warehouse"
# Training, the gate, promotion, rollback and approval change the champion: one at a time,
# always. On the DuckDB file they share the warehouse's pool (its one writer); on DuckLake they
# have this pool of their own, left at the instance's default of one slot.
PROMOTION_POOL = "model_promotion"


def multi_writer_warehouse() -> bool:
    """Whether the warehouse the settings name takes writers (and readers) from many processes
    at once: DuckLake does, the DuckDB file one process at a time."""
    return Settings.from_env().warehouse_backend == "ducklake"


def promotion_pool() -> str:
    """The pool of the steps that change the champion, for the warehouse the settings name."""
    return PROMOTION_POOL if multi_writer_warehouse() else WAREHOUSE_POOL


def per_day_asset(*, writes_warehouse: bool = True, **asset_args):
    """`dg.asset` for a per-day asset: daily partitions, a backfill as one run, and the
    warehouse's pool when it opens the warehouse."""
    return dg.asset(
        partitions_def=daily_partitions,
        backfill_policy=ONE_RUN_PER_BACKFILL,
        pool=WAREHOUSE_POOL if writes_warehouse else None,
        **asset_args,
    )


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The days this run materializes, oldest first: one, or a whole range."""
    return [date.fromisoformat(key) for key in context.partition_keys]


def days_request(days: list[str]) -> dict:
    """The RunRequest arguments for a run over these days (sorted, contiguous): a partition key
    for one, Dagster's partition range tags for several (run as one, as a single-run backfill)."""
    if len(days) == 1:
        return {"partition_key": days[0], "tags": {}}
    return {
        "tags": {
            "dagster/asset_partition_range_start": days[0],
            "dagster/asset_partition_range_end": days[-1],
        }
    }


def consecutive_days(days: list[str]) -> list[list[str]]:
    """Sorted days cut into runs of consecutive days.

    >>> consecutive_days(["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-05"])
    [['2026-01-01', '2026-01-02', '2026-01-03'], ['2026-01-05']]
    """
    groups: list[list[str]] = []
    for day in sorted(days):
        after = groups and date.fromisoformat(groups[-1][-1]) + timedelta(days=1)
        if after and date.fromisoformat(day) == after:
            groups[-1].append(day)
        else:
            groups.append([day])
    return groups
