"""Sustained load on the live system: `continual-ml up --traffic` with short simulated days,
sampled every few seconds for the queue, the monitoring lag and the prediction-log backlog.

Each sample records: the runs queued and in progress; the days landed (files in the landing
folder) and the days monitored (`drift_report` partitions), whose difference is the lag; the
closed prediction logs still waiting in the service's folder, and the age of the oldest one.
Everything is read from Dagster's instance and the file system, never from the DuckDB file.
At the end, per day: landing to its first drift report, and where that time went (the sensor,
the queue, the run's launch, the warehouse's pool, the work: `benchmarks.run_timeline`); per
closed prediction log: closing to being archived once in DuckDB; per retrain the policy asked
for: its request (the run's creation) to its start. `--busy-cores 1` keeps one core busy with
another process all along, as on a machine shared with other work.

    python -m benchmarks.sustained_load --day-seconds 10 --minutes 20 --busy-cores 1
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import run_timeline
from benchmarks.results_file import add_output_arguments, write_results
from continual_ml.app.supervision.live_system import Ports

RESULTS = Path(__file__).parent / "results"
CLI = str(Path(sys.executable).parent / "continual-ml")
REPO = Path(__file__).resolve().parents[1]


def sample(home: Path, instance, started: float) -> dict:
    import dagster as dg

    from continual_ml.serving.prediction_log import closed_logs

    def count(status) -> int:
        return instance.get_runs_count(dg.RunsFilter(statuses=[status]))

    monitored = instance.get_materialized_partitions(dg.AssetKey("drift_report"))
    waiting = closed_logs(home / "prediction_logs")
    now = time.time()
    oldest = max((now - p.stat().st_mtime for p in waiting if p.exists()), default=0.0)
    return {
        "t": round(time.monotonic() - started),
        "queued": count(dg.DagsterRunStatus.QUEUED),
        "in_progress": count(dg.DagsterRunStatus.STARTED),
        "days_landed": len(list((home / "landing").glob("*.parquet"))),
        "days_monitored": len(monitored),
        "logs_waiting": len(waiting),
        "oldest_log_waiting_s": round(oldest, 1),
        "prediction_log_runs_ok": instance.get_runs_count(
            dg.RunsFilter(
                job_name="ingest_file_job",
                tags={"continual_ml/kind": "prediction_log"},
                statuses=[dg.DagsterRunStatus.SUCCESS],
            )
        ),
    }


def delays(home: Path, instance, day_seconds: float) -> dict:
    """Per landed day, landing (its file written) to its first drift report, in simulated days,
    and for the days still waiting at the end, how long they had waited; per closed prediction
    log, closing (its last write) to being archived once in DuckDB (a rename, which sets its
    ctime), in seconds."""
    import dagster as dg

    first: dict[str, float] = {}
    records = instance.fetch_materializations(
        dg.AssetKey("drift_report"), limit=10_000, ascending=True
    ).records
    for record in records:
        first.setdefault(record.asset_materialization.partition, record.timestamp)
    landed = list((home / "landing").glob("traffic-*.parquet"))
    monitoring = [
        (first[day] - path.stat().st_mtime) / day_seconds
        for path in landed
        if (day := path.stem.removeprefix("traffic-")) in first
    ]
    now = time.time()
    waiting = [
        (now - path.stat().st_mtime) / day_seconds
        for path in landed
        if path.stem.removeprefix("traffic-") not in first
    ]
    archived = list((home / "prediction_logs" / "ingested").glob("*.jsonl"))
    logs = [p.stat().st_ctime - p.stat().st_mtime for p in archived]
    monitored = run_timeline.quantiles(monitoring)
    return {
        "monitored_after_days": monitored,
        # of the days monitored, or waiting longer than 2 days at the end
        "share_monitored_within_2_days": round(
            sum(d <= 2 for d in monitoring) / max(len(monitoring) + sum(w > 2 for w in waiting), 1),
            4,
        ),
        "days_not_monitored_at_the_end": len(waiting),
        "unmonitored_days_waited_days": round(max(waiting, default=0.0), 2),
        "log_in_duckdb_after_s": run_timeline.quantiles(logs),
    }


def retrain_waits(instance) -> dict:
    """Per retrain run (`retrain_job`, asked for by the policy's sensor): seconds from its request
    (the run's creation) to its start, and for those not started at the end, how long they had
    waited."""
    import dagster as dg

    records = [
        r
        for r in instance.get_run_records(dg.RunsFilter(job_name="retrain_job"))
        if "dagster/sensor_name" in r.dagster_run.tags  # not the first champion `up` trains
    ]
    started = [r.start_time - r.create_timestamp.timestamp() for r in records if r.start_time]
    now = time.time()
    waiting = [now - r.create_timestamp.timestamp() for r in records if not r.start_time]
    return {
        "retrain_started_after_s": run_timeline.quantiles(started),
        "retrains_not_started_at_the_end_waited_s": round(max(waiting, default=0.0), 1),
    }


def busy_cores(count: int) -> list[subprocess.Popen]:
    """`count` processes that each keep a core busy, in sessions of their own."""
    spin = [sys.executable, "-c", "while True: pass"]
    return [subprocess.Popen(spin, start_new_session=True) for _ in range(count)]


def queue_curve(samples: list[dict]) -> list[dict]:
    """The queue per minute: the most runs queued, and the mean, in each minute sampled."""
    minutes: dict[int, list[int]] = {}
    for s in samples:
        minutes.setdefault(int(s["t"] // 60), []).append(s["queued"])
    return [
        {"minute": m, "max_queued": max(q), "mean_queued": round(sum(q) / len(q), 2)}
        for m, q in sorted(minutes.items())
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--day-seconds", type=float, default=10.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=15.0, help="seconds between samples")
    parser.add_argument(
        "--busy-cores", type=int, default=0, help="cores kept busy by another process throughout"
    )
    add_output_arguments(parser, out=None, out_help="sustained_load_<day-seconds>s_days.json")
    args = parser.parse_args(argv)
    busy = f"_{args.busy_cores}_busy_core" if args.busy_cores else ""
    args.out = args.out or str(RESULTS / f"sustained_load_{args.day_seconds:g}s_days{busy}.json")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sustained-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "BENTOML_"))}
    env.update(CONTINUAL_ML_HOME=str(home))
    env.pop("MLFLOW_TRACKING_URI", None)
    log = workdir / "up.log"
    load_before = [round(x, 2) for x in os.getloadavg()]
    spinners = busy_cores(args.busy_cores)
    # Free ports, so the benchmark runs beside another `up` (a demo, a test).
    ports = Ports.free()
    env["DAGSTER_CODE_SERVER_PORT"] = str(ports.code_server)
    port_options = ["--dagster-port", str(ports.webserver), "--mlflow-port", str(ports.mlflow)]
    port_options += ["--service-port", str(ports.service)]
    with log.open("wb") as out:
        up = subprocess.Popen(
            [CLI, "up", "--traffic", "--day-seconds", str(args.day_seconds), *port_options],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=out,
        )
    samples = []
    try:
        deadline = time.monotonic() + 600
        while "Ctrl-C stops everything" not in log.read_text():
            if up.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`up` did not start:\n{log.read_text()[-2000:]}")
            time.sleep(2)
        os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            started = time.monotonic()
            while time.monotonic() - started < args.minutes * 60:
                samples.append(sample(home, instance, started))
                print(json.dumps(samples[-1]), flush=True)
                time.sleep(args.every)
            measured = delays(home, instance, args.day_seconds)
            measured.update(retrain_waits(instance))
            stages = run_timeline.summary(instance, home / "landing")
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=180)
        for spinner in spinners:
            spinner.kill()
            spinner.wait(timeout=30)
    # The bootstrap's days are monitored before traffic lands anything.
    for s in samples:
        s["lag_days"] = s["days_landed"] - (s["days_monitored"] - samples[0]["days_monitored"])
    results = {
        "day_seconds": args.day_seconds,
        "minutes": args.minutes,
        "busy_cores": args.busy_cores,
        "max_queued": max(s["queued"] for s in samples),
        "mean_queued": round(sum(s["queued"] for s in samples) / len(samples), 2),
        "final_lag_days": samples[-1]["lag_days"],
        "max_lag_days": max(s["lag_days"] for s in samples),
        "samples_within_2_days": sum(s["lag_days"] <= 2 for s in samples) / len(samples),
        "days_landed": samples[-1]["days_landed"],
        "max_oldest_log_waiting_s": max(s["oldest_log_waiting_s"] for s in samples),
        **measured,
        "queue_per_minute": queue_curve(samples),
        "stages": stages,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "samples": samples,
    }
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
