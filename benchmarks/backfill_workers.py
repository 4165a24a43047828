"""A year's backfill, embedded against runs on workers with 1, 2 and 4 run slots.

The history of `benchmarks.backfill` (365 days × 2,000 labelled rows) is ingested and a first
champion trained once (`continual-ml init`, `ingest`, `bootstrap`). Then, side by side on the
same home:

- embedded: `continual-ml backfill`, the default's single run over the year, in-process;
- workers, N run slots: the scale-out profile (Postgres storage, `docs/dagster-workers.yaml` with
  `max_concurrent_runs: N`, N `continual-ml worker` processes, CONTINUAL_ML_EXECUTOR=celery), the
  year submitted as runs of `--days-per-run` days of `monitoring_job` (partition range tags) to
  the queue, which the daemon launches N at a time; each step executes on a worker.

Where the time goes, per run, from the event log: launch (RUN_STARTING → RUN_START, the run
process starting), hand-off (the run process's engine event "Submitting celery task" → the
worker's "Executing steps … in celery worker", summed over the run's steps), step execution
(STEP_START → STEP_SUCCESS, by asset), the time between steps (no step handed off or
executing: results picked up from the backend, pool-slot waits) and the queue wait before a
run slot frees.
The workers' warehouse is DuckLake (catalog in Postgres, data on moto's S3 server on loopback;
the history ingested into it the same way), its per-day pool with N slots; with `--warehouse
duckdb` it is a DuckDB file and the pool keeps one slot (steps of different runs never overlap,
only launches and hand-offs do). Each measurement holds the exclusive CPU lock. Writes
`benchmarks/results/backfill_workers.json`.

    python -m benchmarks.backfill_workers --days 365 --slots 1 2 4 --days-per-run 30
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from statistics import mean

from benchmarks.backfill import FIRST_DAY, RESULTS, run_cli, write_history
from benchmarks.stamp import stamp

RESULTS_FILE = RESULTS.with_name("backfill_workers.json")
QUIET_LOCK = Path("/work/wt/quiet.lock")
TURNSTILE = Path("/work/wt/turnstile.lock")
JOB = "monitoring_job"
HANDOFF_START = "Submitting celery task"
HANDOFF_END = "in celery worker"
RUN_WAIT_SECONDS = 1200


@contextmanager
def machine(enabled: bool, exclusive: bool):
    """The project's CPU lock protocol: shared for heavy work, exclusive for a measurement (the
    turnstile first, so no new heavy work starts while this waits). Yields the load average."""
    if not enabled or not QUIET_LOCK.exists():
        yield os.getloadavg()
        return
    with TURNSTILE.open() as turnstile, QUIET_LOCK.open() as quiet:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        if not exclusive:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        fcntl.flock(quiet, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield os.getloadavg()
        finally:
            fcntl.flock(quiet, fcntl.LOCK_UN)
            fcntl.flock(turnstile, fcntl.LOCK_UN)


def chunks(days: int, days_per_run: int) -> list[tuple[date, date]]:
    starts = range(0, days, days_per_run)
    return [
        (FIRST_DAY + timedelta(days=s), FIRST_DAY + timedelta(days=min(s + days_per_run, days) - 1))
        for s in starts
    ]


def submit_runs(instance, ranges: list[tuple[date, date]]) -> list[str]:
    """Queue one run per range, as the UI's launchpad or `dagster job launch` would."""
    from dagster._cli.job import execute_launch_command
    from dagster_shared.cli import WorkspaceOpts

    from continual_ml_tests.support.scale_out import ROOT

    opts = WorkspaceOpts(workspace=[str(ROOT / "workspace.yaml")])
    run_ids = []
    for start, end in ranges:
        tags = {
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            "continual_ml/trigger": "backfill",
        }
        run = execute_launch_command(
            instance=instance, workspace_opts=opts, job_name=JOB, tags=json.dumps(tags)
        )
        run_ids.append(run.run_id)
    return run_ids


def wait_finished(scale_out, run_ids: list[str]) -> None:
    import dagster as dg

    def done():
        runs = scale_out.instance.get_runs(dg.RunsFilter(run_ids=run_ids))
        return len(runs) == len(run_ids) and all(run.is_finished for run in runs)

    scale_out.processes.wait_for("the backfill's runs", done, RUN_WAIT_SECONDS)


def covered(spans: list[tuple[float, float]]) -> float:
    """How long at least one of `spans` is in progress."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def time_split(instance, run_ids: list[str]) -> dict:
    """Seconds per run (means over the runs): queued, launch, hand-offs (summed over the run's
    steps), steps by asset, and `between_steps_s`: the part of the run during which no step is
    handed off or executing (the run process picking results up from the backend, waiting for a
    pool slot, starting and ending)."""
    import dagster as dg

    split = {
        "queued_s": [],
        "launch_s": [],
        "handoff_s": [],
        "run_s": [],
        "between_steps_s": [],
        "steps_s": {},
    }
    for run_id in run_ids:
        entries = [r.event_log_entry for r in instance.get_records_for_run(run_id).records]
        first = {}
        for entry in entries:
            kind = entry.dagster_event_type
            first.setdefault(kind, entry.timestamp)
        E = dg.DagsterEventType
        split["queued_s"].append(first[E.RUN_STARTING] - first[E.RUN_ENQUEUED])
        split["launch_s"].append(first[E.RUN_START] - first[E.RUN_STARTING])
        split["run_s"].append(first[E.RUN_SUCCESS] - first[E.RUN_START])
        submitted, started, succeeded = {}, {}, {}
        for entry in entries:
            # An engine event's text is its event's message; `user_message` is empty for the
            # ones a worker reports straight to the instance.
            message = entry.message or ""
            if entry.step_key and HANDOFF_START in message:
                submitted.setdefault(entry.step_key, entry.timestamp)
            elif entry.step_key and HANDOFF_END in message:
                started.setdefault(entry.step_key, entry.timestamp)
            elif entry.dagster_event_type == E.STEP_START:
                started.setdefault(("step", entry.step_key), entry.timestamp)
            elif entry.dagster_event_type == E.STEP_SUCCESS:
                begin = started[("step", entry.step_key)]
                split["steps_s"].setdefault(entry.step_key, []).append(entry.timestamp - begin)
                succeeded[entry.step_key] = entry.timestamp
        split["handoff_s"].append(sum(started[k] - submitted[k] for k in submitted if k in started))
        busy = covered([(submitted[k], end) for k, end in succeeded.items() if k in submitted])
        split["between_steps_s"].append(split["run_s"][-1] - busy)
    steps = {key: round(mean(values), 2) for key, values in split.pop("steps_s").items()}
    means = {key: round(mean(values), 2) for key, values in split.items()}
    return {**means, "steps_s": steps}


def most_runs_at_once(instance, run_ids: list[str]) -> int:
    """The most runs in progress (launched, not finished) at one moment."""
    records = instance.get_run_records()
    spans = [(r.start_time, r.end_time) for r in records if r.dagster_run.run_id in run_ids]
    moments = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, change in moments:
        current += change
        most = max(most, current)
    return most


def home_settings(home: Path, lake: dict[str, str]) -> dict[str, str]:
    """What every process of a configuration reads: the home's stores, and the warehouse (the
    home's DuckDB file, or the DuckLake `lake` names)."""
    return {
        "CONTINUAL_ML_HOME": str(home),
        "CONTINUAL_ML_CONFIG": os.environ["CONTINUAL_ML_CONFIG"],
        "CONTINUAL_ML_WAREHOUSE": str(home / "warehouse.duckdb"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "BENTOML_HOME": str(home / "bentoml"),
        **lake,
    }


def run_on_workers(settings, folder: Path, slots: int, ranges, postgres, lock: bool) -> dict:
    from continual_ml_tests.support.scale_out import running_scale_out

    multi_writer = settings.get("CONTINUAL_ML_WAREHOUSE_BACKEND") == "ducklake"
    state = folder / f"workers-{slots}"
    # Starting the processes is heavy work too: the whole of it under the exclusive lock.
    with (
        machine(lock, exclusive=True),
        running_scale_out(
            state,
            settings,
            workers=slots,
            max_concurrent_runs=slots,
            # The per-day pool: N slots on DuckLake; the DuckDB file keeps its one writer.
            warehouse_slots=slots if multi_writer else 1,
            postgres=postgres,
            database=f"dagster_{slots}",
        ) as scale_out,
    ):
        load_before = os.getloadavg()
        started = time.perf_counter()
        run_ids = submit_runs(scale_out.instance, ranges)
        wait_finished(scale_out, run_ids)
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
        import dagster as dg

        runs = scale_out.instance.get_runs(dg.RunsFilter(run_ids=run_ids))
        failed = [run.run_id for run in runs if run.status != dg.DagsterRunStatus.SUCCESS]
        if failed:
            raise RuntimeError(f"runs failed: {failed}\n{scale_out.processes.tails()}")
        monitored = {
            asset: len(scale_out.instance.get_materialized_partitions(dg.AssetKey(asset)))
            for asset in ("drift_report", "model_performance")
        }
        return {
            "run_slots": slots,
            "workers": slots,
            "warehouse_pool_slots": slots if multi_writer else 1,
            "runs": len(run_ids),
            "wall_s": round(wall, 1),
            "most_runs_at_once": most_runs_at_once(scale_out.instance, run_ids),
            "per_run_mean": time_split(scale_out.instance, run_ids),
            "days_with": monitored,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        }


def setup_home(env: dict, history: Path) -> dict:
    return {
        "init_s": run_cli(env, "init"),
        "ingest_s": run_cli(env, "ingest", str(history)),
        "bootstrap_s": run_cli(env, "bootstrap"),
    }


def run(
    days=365,
    rows_per_day=2000,
    slots=(1, 2, 4),
    days_per_run=30,
    workdir=None,
    lock=True,
    warehouse="ducklake",
):
    from continual_ml_tests.support.lake_servers import lake_environment, running_object_store
    from continual_ml_tests.support.postgres_server import running_postgres
    from continual_ml_tests.support.processes import free_port

    folder = Path(workdir or tempfile.mkdtemp(prefix="backfill-workers-"))
    folder.mkdir(parents=True, exist_ok=True)
    config, history = write_history(folder, days, rows_per_day)
    os.environ["CONTINUAL_ML_CONFIG"] = str(config)
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONTINUAL_ML_", "DAGSTER_", "BENTOML_", "MLFLOW_"))
    }
    embedded_env = {**base, **home_settings(folder / "home", {})}
    with machine(lock, exclusive=False):
        setup = setup_home(embedded_env, history)
    with machine(lock, exclusive=True) as load_before:
        embedded = run_cli(embedded_env, "backfill")
        load_after = os.getloadavg()
    results = {
        "days": days,
        "rows_per_day": rows_per_day,
        "days_per_run": days_per_run,
        "workers_warehouse": warehouse,
        "setup": {k: round(v, 1) for k, v in setup.items()},
        "embedded": {
            "runs": 1,
            "wall_s": round(embedded, 1),
            "partitions_per_hour": round(days / embedded * 3600),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "workers": [],
        "cpus": os.cpu_count(),
    }
    ranges = chunks(days, days_per_run)
    with (
        running_postgres(free_port(), folder / "postgres.log") as postgres,
        running_object_store() as store,
    ):
        lake = lake_environment(postgres, store=store) if warehouse == "ducklake" else {}
        settings = home_settings(folder / "home-workers", lake)
        with machine(lock, exclusive=False):
            results["workers_setup"] = {
                k: round(v, 1) for k, v in setup_home({**base, **settings}, history).items()
            }
        for n in slots:
            measured = run_on_workers(settings, folder, n, ranges, postgres, lock)
            measured["partitions_per_hour"] = round(days / measured["wall_s"] * 3600)
            results["workers"].append(measured)
    for measured in results["workers"]:
        measured["vs_embedded"] = round(embedded / measured["wall_s"], 2)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--days-per-run", type=int, default=30)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--warehouse", choices=["ducklake", "duckdb"], default="ducklake")
    parser.add_argument("--no-lock", action="store_true", help="measure without the quiet lock")
    parser.add_argument("--out", default=str(RESULTS_FILE))
    args = parser.parse_args(argv)
    results = run(
        args.days,
        args.rows_per_day,
        tuple(args.slots),
        args.days_per_run,
        args.workdir,
        lock=not args.no_lock,
        warehouse=args.warehouse,
    )
    Path(args.out).write_text(json.dumps({"stamp": stamp(), **results}, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
