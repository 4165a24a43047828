"""A year's backfill, embedded against runs on 1 and 2 workers, side by side in one command.

The history of `benchmarks.backfill` (365 days × 2,000 labelled rows) is ingested and a first
champion trained once (`continual-ml init`, `ingest`, `bootstrap`). Then, on the same machine:

- embedded: `continual-ml backfill`, the default's single run over the year, in-process;
- N workers: the scale-out profile (Postgres storage, `docs/dagster-workers.yaml` with
  `max_concurrent_runs: N`, N `continual-ml worker` processes of one run slot each), the year
  submitted as runs of `--days-per-run` days of `monitoring_job` (partition range tags, lane
  `backfill`: out of the monitoring lane's one run at a time) to the queue; the daemon sends each
  run to the broker and a worker executes it whole.

Where the time goes, per run, from the event log: queued (RUN_ENQUEUED → RUN_STARTING, waiting
for a run slot), and the launch (RUN_STARTING → RUN_START) split into send (→ the launcher's
"forwarded to the broker": the daemon creating the Celery task), hand-off (→ the worker's
"Started process for run": the broker delivering the task to a free worker) and start (→
RUN_START: the worker's pool process loading the job and opening the run); then step execution
(STEP_START → STEP_SUCCESS, by asset) and the time between steps (run start and end, resources,
pool-slot waits). `attach_s` is one DuckLake attach (open, attach, close), timed in this
process against the same lake; every step that opens the warehouse pays one.
The workers' warehouse is DuckLake (catalog in Postgres, data on moto's S3 server on loopback;
the history ingested into it the same way), its per-day pool with N slots; with `--warehouse
duckdb` it is a DuckDB file and the pool keeps one slot (steps of different runs never overlap,
only launches and hand-offs do). The load average is recorded before and after each
measurement: the machine is not reserved for it. Writes `benchmarks/results/backfill_workers.json`.

    python -m benchmarks.backfill_workers --days 365 --slots 1 2 --days-per-run 30
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from statistics import mean

from benchmarks.backfill import FIRST_DAY, RESULTS, run_cli, write_history
from benchmarks.results_file import add_output_arguments, write_results
from continual_ml.decisions.queue_aging import LANE_TAG

RESULTS_FILE = RESULTS.with_name("backfill_workers.json")
JOB = "monitoring_job"
# Engine events that mark a run's way to its worker: the launcher's, then the run task's.
SENT = "Celery task has been forwarded to the broker"
TAKEN = "Started process for run"
RUN_WAIT_SECONDS = 1800
BACKFILL_LANE = "backfill"  # no limit of its own in the instance
ATTACHES = 5


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


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
            # Out of the monitoring lane (one run at a time, for landed days' latency), which
            # would leave every worker but one idle: the run slots bound the backfill instead.
            LANE_TAG: BACKFILL_LANE,
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
    """Seconds per run (means over the runs): queued, launch and its parts (send, hand-off,
    start), the run, steps by asset, and `between_steps_s`: the part of the run during which no
    step executes (opening and ending the run, resources, pool-slot waits)."""
    import dagster as dg

    E = dg.DagsterEventType
    split = {
        key: []
        for key in (
            "queued_s",
            "launch_s",
            "send_s",
            "handoff_s",
            "start_s",
            "run_s",
            "between_steps_s",
            "steps_per_run",
        )
    }
    steps_s: dict[str, list[float]] = {}
    for run_id in run_ids:
        entries = [r.event_log_entry for r in instance.get_records_for_run(run_id).records]
        first: dict = {}
        for entry in entries:
            message = entry.message or ""
            key = (
                SENT if SENT in message else TAKEN if TAKEN in message else entry.dagster_event_type
            )
            first.setdefault(key, entry.timestamp)
        split["queued_s"].append(first[E.RUN_STARTING] - first[E.RUN_ENQUEUED])
        split["launch_s"].append(first[E.RUN_START] - first[E.RUN_STARTING])
        split["send_s"].append(first[SENT] - first[E.RUN_STARTING])
        split["handoff_s"].append(first[TAKEN] - first[SENT])
        split["start_s"].append(first[E.RUN_START] - first[TAKEN])
        split["run_s"].append(first[E.RUN_SUCCESS] - first[E.RUN_START])
        started, spans = {}, []
        for entry in entries:
            if entry.dagster_event_type == E.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif entry.dagster_event_type == E.STEP_SUCCESS:
                begin = started[entry.step_key]
                steps_s.setdefault(entry.step_key, []).append(entry.timestamp - begin)
                spans.append((begin, entry.timestamp))
        split["steps_per_run"].append(len(spans))
        split["between_steps_s"].append(split["run_s"][-1] - covered(spans))
    means = {key: round(mean(values), 2) for key, values in split.items()}
    return {**means, "steps_s": {key: round(mean(v), 2) for key, v in steps_s.items()}}


def attach_seconds(settings: dict[str, str]) -> float:
    """One warehouse attach, as each step that opens the warehouse makes (the mean of a few)."""
    from continual_ml.settings import Settings
    from continual_ml.warehouse.connection import location_from_settings, warehouse_connection

    location = location_from_settings(Settings.from_env(settings), Path("unused.duckdb"))
    started = time.perf_counter()
    for _ in range(ATTACHES):
        with warehouse_connection(location, read_only=True) as conn:
            conn.execute("SELECT 1").fetchall()
    return (time.perf_counter() - started) / ATTACHES


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


def run_on_workers(settings, folder: Path, slots: int, ranges, postgres) -> dict:
    from continual_ml_tests.support.scale_out import running_scale_out

    multi_writer = settings.get("CONTINUAL_ML_WAREHOUSE_BACKEND") == "ducklake"
    state = folder / f"workers-{slots}"
    with running_scale_out(
        state,
        settings,
        workers=slots,
        max_concurrent_runs=slots,
        # The per-day pool: N slots on DuckLake; the DuckDB file keeps its one writer.
        warehouse_slots=slots if multi_writer else 1,
        postgres=postgres,
        database=f"dagster_{slots}",
    ) as scale_out:
        load_before = load_average()
        started = time.perf_counter()
        run_ids = submit_runs(scale_out.instance, ranges)
        wait_finished(scale_out, run_ids)
        wall = time.perf_counter() - started
        load_after = load_average()
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
            "load_average_before": load_before,
            "load_average_after": load_after,
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
    slots=(1, 2),
    days_per_run=30,
    workdir=None,
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
    setup = setup_home(embedded_env, history)
    load_before = load_average()
    embedded = run_cli(embedded_env, "backfill")
    load_after = load_average()
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
            "load_average_before": load_before,
            "load_average_after": load_after,
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
        results["workers_setup"] = {
            k: round(v, 1) for k, v in setup_home({**base, **settings}, history).items()
        }
        results["attach_s"] = round(attach_seconds({**base, **settings}), 3)
        for n in slots:
            measured = run_on_workers(settings, folder, n, ranges, postgres)
            measured["partitions_per_hour"] = round(days / measured["wall_s"] * 3600)
            results["workers"].append(measured)
    for measured in results["workers"]:
        measured["vs_embedded"] = round(embedded / measured["wall_s"], 2)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--days-per-run", type=int, default=30)
    parser.add_argument("--warehouse", choices=["ducklake", "duckdb"], default="ducklake")
    add_output_arguments(parser, str(RESULTS_FILE))
    args = parser.parse_args(argv)
    results = run(
        args.days,
        args.rows_per_day,
        tuple(args.slots),
        args.days_per_run,
        args.workdir,
        warehouse=args.warehouse,
    )
    write_results(args.out, results)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
