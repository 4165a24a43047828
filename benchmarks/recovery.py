"""Time to recovery on the live system: drift injected into the traffic, until the service answers
with a champion trained on the drifted data.

Each trial restores the same bootstrapped home (three days landed, v1 serving), starts the live
system (Dagster code server and daemon with their sensors, the BentoML service) with default
settings, and plays the stream with `TrafficGenerator`: `stable_days` days as before, then the
drifted concept. It records, in wall-clock time:

- served: the first drifted request reaches the service;
- landed: the drifted day's file is in the landing folder (the data has arrived);
- detected: `drift_report` materialized for a drifted day with drift at or over the threshold;
- retrain started: the first policy-triggered `retrain_job` run for a drifted day starts;
- promoted: `champion_model` promotes a candidate trained on drifted data;
- serving: the service answers `/model` with that version.

    python -m benchmarks.recovery --trials 10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import threading
import time
from pathlib import Path

import httpx

from benchmarks.stamp import stamp
from continual_ml.app.supervision.live_system import LiveSystem, Ports
from continual_ml.config import Paths, default_config
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.demo.traffic import TrafficGenerator

RESULTS = Path(__file__).parent / "results" / "recovery.json"
STAGES = ("served", "landed", "detected", "retrain_started", "promoted", "serving")


def make_template(home: Paths, template: Paths) -> int:
    """Bootstrap once: the first champion on three landed days. Returns the next day index.

    It is built at the trial home's path, since the stores record absolute paths, then moved.
    """
    from continual_ml.app.cli.up import bootstrap
    from continual_ml.app.local_home import prepare
    from continual_ml.demo.driver import reset_home

    reset_home(home)
    prepare(home)
    start_index = bootstrap(home, default_config(), say=lambda _: None)
    if template.home.exists():
        shutil.rmtree(template.home)
    shutil.move(str(home.home), str(template.home))
    return start_index


def restore(template: Paths, home: Paths) -> None:
    if home.home.exists():
        shutil.rmtree(home.home)
    shutil.copytree(template.home, home.home)


def _first(records, condition):
    matching = [r for r in records if condition(r)]
    return min(matching, key=lambda r: r.timestamp) if matching else None


def loop_timestamps(instance, drift_day: str, threshold: float) -> dict[str, float]:
    """When the Dagster side of the loop reached each stage, from its event log and runs."""
    import dagster as dg

    def materializations(key):
        return instance.fetch_materializations(dg.AssetKey(key), limit=500).records

    def meta(record, name):
        value = record.asset_materialization.metadata.get(name)
        return None if value is None else value.value

    found = {}
    drifted = _first(
        materializations("drift_report"),
        lambda r: (
            r.asset_materialization.partition >= drift_day and meta(r, "drift_share") >= threshold
        ),
    )
    if drifted:
        found["detected"] = drifted.timestamp
    runs = instance.get_run_records(
        dg.RunsFilter(job_name="retrain_job", tags={"continual_ml/trigger": "policy"})
    )
    starts = [
        r.start_time
        for r in runs
        if r.start_time and r.dagster_run.tags.get("dagster/partition", "") >= drift_day
    ]
    if starts:
        found["retrain_started"] = min(starts)
    promoted = _first(
        materializations("champion_model"),
        lambda r: (
            r.asset_materialization.partition >= drift_day and meta(r, "decision") == "promoted"
        ),
    )
    if promoted:
        found["promoted"] = promoted.timestamp
        found["promoted_version"] = int(meta(promoted, "champion_version"))
    return found


def watch_service(url: str, first_version: int, seen: dict, stop: threading.Event) -> None:
    """Note when each new version is first answered by the service."""
    with httpx.Client(base_url=url, timeout=5) as client:
        while not stop.is_set():
            try:
                version = client.get("/model").json()["model_version"]
            except (httpx.HTTPError, KeyError, ValueError):
                version = None
            if version is not None and version != first_version:
                seen.setdefault(version, time.time())
            stop.wait(0.2)


def run_trial(template: Paths, home: Paths, start_index: int, args) -> dict:
    import dagster as dg

    restore(template, home)
    drift_index = start_index + args.stable_days
    base = default_config()
    config = base.model_copy(
        update={"stream": base.stream.model_copy(update={"drift_day": drift_index})}
    )
    drift_day = partition_date(config, drift_index).isoformat()
    system = LiveSystem(home, Ports.free(), with_ui=False)
    seen: dict[int, float] = {}
    stop = threading.Event()
    result: dict = {"drift_day": drift_day}
    with system:
        generator = TrafficGenerator(
            config, system.service.url, home.home / "landing", start_index, None, args.day_seconds
        )
        watcher = threading.Thread(
            target=watch_service, args=(system.service.url, 1, seen, stop), daemon=True
        )
        watcher.start()
        generator.start()
        os.environ["DAGSTER_HOME"] = str(home.dagster_home)
        instance = dg.DagsterInstance.get()
        deadline = time.time() + args.timeout
        loop: dict = {}
        try:
            while time.time() < deadline and generator.error is None:
                time.sleep(1)
                loop = loop_timestamps(instance, drift_day, config.policy.drift_share_threshold)
                version = loop.get("promoted_version")
                if version is not None and version in seen:
                    result.update(loop, serving=seen[version])
                    break
            else:
                result.update(loop, timed_out=True)
        finally:
            generator.stop()
            stop.set()
            instance.dispose()
        drifted = [d for d in generator.days if d.index >= drift_index]
        if drifted:
            result.update(served=drifted[0].started_at, landed=drifted[0].landed_at)
        if generator.error is not None:
            result["error"] = repr(generator.error)
    return result


def intervals(trial: dict) -> dict[str, float]:
    """Seconds from the first drifted request to each stage, and between stages."""
    out = {}
    if "served" not in trial:
        return out
    for origin in ("served", "landed"):
        for stage in STAGES[STAGES.index(origin) + 1 :]:
            if stage in trial:
                out[f"{origin}→{stage}"] = trial[stage] - trial[origin]
    for before, after in zip(STAGES[1:], STAGES[2:], strict=False):
        if before in trial and after in trial:
            out[f"{before}→{after}"] = trial[after] - trial[before]
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(trials: list[dict]) -> dict:
    per_interval: dict[str, list[float]] = {}
    for trial in trials:
        for name, seconds in intervals(trial).items():
            per_interval.setdefault(name, []).append(seconds)
    return {
        name: {
            "n": len(values),
            "p50": statistics.median(values),
            "p95": percentile(values, 0.95),
            "max": max(values),
        }
        for name, values in per_interval.items()
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--day-seconds", type=float, default=20.0)
    parser.add_argument("--stable-days", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/continual-ml-recovery"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    template = Paths(home=args.workdir / "template")
    home = Paths(home=args.workdir / "home")
    # Everything the child processes and the template's stores point at is the trial home.
    os.environ["CONTINUAL_ML_HOME"] = str(home.home)
    for name in ("DAGSTER_HOME", "BENTOML_HOME", "MLFLOW_TRACKING_URI"):
        os.environ.pop(name, None)
    start_index = make_template(home, template)
    trials = []
    for number in range(args.trials):
        trial = run_trial(template, home, start_index, args)
        trials.append(trial)
        shown = {k: round(v, 1) for k, v in intervals(trial).items() if k.startswith("served")}
        print(f"trial {number + 1}: {shown}{' TIMED OUT' if trial.get('timed_out') else ''}")
    results = {
        "settings": {k: str(v) for k, v in vars(args).items()},
        "trials": trials,
        "summary": summarize(trials),
        "recovered": sum("serving" in t for t in trials),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"stamp": stamp(), **results}, indent=2))
    for name, stats in results["summary"].items():
        print(f"{name:<28} n={stats['n']:>2} p50 {stats['p50']:6.1f}s  p95 {stats['p95']:6.1f}s")
    return results


if __name__ == "__main__":
    main()
