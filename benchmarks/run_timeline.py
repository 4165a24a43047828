"""Where the live loop's time goes, from a Dagster instance's event log: per run, the wait in
the queue (enqueued to dequeued), the launch (a new process importing the code location:
dequeued to started), the wait for the warehouse's pool slot (run started to its first step)
and the work (first step to the run's end); per landed day, each stage from its file landing to
its first `drift_report`.

    DAGSTER_HOME=.../dagster_home python -m benchmarks.run_timeline --landing .../landing
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

STAGES = ("sensor", "queue", "launch", "pool", "work")


def quantiles(values: list[float]) -> dict:
    """Count, mean, p50, p95 and max of `values`, rounded to hundredths."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "mean": round(sum(ordered) / len(ordered), 2),
        "p50": at(0.5),
        "p95": at(0.95),
        "max": round(ordered[-1], 2),
    }


def run_stages(instance) -> list[dict]:
    """Per finished run: its kind, creation time and the length of each stage, in seconds."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.RUN_ENQUEUED: "enqueued",
        dg.DagsterEventType.RUN_STARTING: "starting",
        dg.DagsterEventType.RUN_START: "start",
        dg.DagsterEventType.STEP_START: "step",
        dg.DagsterEventType.RUN_SUCCESS: "end",
        dg.DagsterEventType.RUN_FAILURE: "end",
    }
    runs = []
    for record in instance.get_run_records(dg.RunsFilter()):
        run = record.dagster_run
        times: dict[str, float] = {}
        for entry in instance.all_logs(run.run_id, of_type=set(kinds)):
            times.setdefault(kinds[entry.dagster_event.event_type], entry.timestamp)
        if not {"enqueued", "starting", "start", "end"} <= set(times):
            continue
        step = times.get("step", times["end"])
        runs.append(
            {
                "run_id": run.run_id,
                "job": run.job_name,
                "kind": run.tags.get("continual_ml/kind") or run.tags.get("continual_ml/trigger"),
                "partitions": run.tags.get("dagster/partition")
                or "{}..{}".format(
                    run.tags.get("dagster/asset_partition_range_start"),
                    run.tags.get("dagster/asset_partition_range_end"),
                ),
                "created": record.create_timestamp.timestamp(),
                "enqueued": times["enqueued"],
                "end": times["end"],
                "queue": times["starting"] - times["enqueued"],
                "launch": times["start"] - times["starting"],
                "pool": step - times["start"],
                "work": times["end"] - step,
            }
        )
    return sorted(runs, key=lambda r: r["created"])


def _label(run: dict) -> str:
    return f"{run['job']}:{run['kind']}" if run["kind"] else run["job"]


def day_stages(instance, landing: Path, runs: list[dict]) -> list[dict]:
    """Per landed traffic day: landing to its run's creation (the sensor), then its run's queue,
    launch, pool and work, up to the day's first `drift_report`."""
    import dagster as dg

    first: dict[str, tuple[float, str]] = {}
    for record in instance.fetch_materializations(
        dg.AssetKey("drift_report"), limit=10_000, ascending=True
    ).records:
        first.setdefault(record.asset_materialization.partition, (record.timestamp, record.run_id))
    by_id = {run["run_id"]: run for run in runs}
    days = []
    for path in sorted(landing.glob("traffic-*.parquet")):
        day = path.stem.removeprefix("traffic-")
        if day not in first or first[day][1] not in by_id:
            continue
        monitored, run = first[day][0], by_id[first[day][1]]
        landed = path.stat().st_mtime
        days.append(
            {
                "day": day,
                "total": monitored - landed,
                # a file landed while its run was already being created counts as no wait
                "sensor": max(run["created"] - landed, 0.0),
                **{stage: run[stage] for stage in ("queue", "launch", "pool")},
                "work": monitored - run["enqueued"] - run["queue"] - run["launch"] - run["pool"],
            }
        )
    return days


def summary(instance, landing: Path) -> dict:
    runs = run_stages(instance)
    by_job: dict[str, list[dict]] = {}
    for run in runs:
        by_job.setdefault(_label(run), []).append(run)
    span = max(r["end"] for r in runs) - min(r["created"] for r in runs) if runs else 0.0
    days = day_stages(instance, landing, runs)
    return {
        "runs_per_job": {
            label: {
                "runs": len(group),
                "busy_s": round(sum(r["launch"] + r["pool"] + r["work"] for r in group), 1),
                **{stage: quantiles([r[stage] for r in group]) for stage in STAGES[1:]},
            }
            for label, group in sorted(by_job.items())
        },
        "span_s": round(span, 1),
        "landed_day_stages_s": {
            stage: quantiles([d[stage] for d in days]) for stage in ("total", *STAGES)
        },
    }


def main(argv: list[str] | None = None) -> dict:
    import dagster as dg

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--landing", required=True)
    args = parser.parse_args(argv)
    with dg.DagsterInstance.get() as instance:
        result = summary(instance, Path(args.landing))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
