"""Your own data, for real: public datasets nobody here made, run as a new user would.

Each dataset ships inside an installed package (river's bundled files, read offline) and keeps
its natural order, cut into days. Per dataset, in a fresh home and its own process (the daily
partitions start where the data does, fixed when the code location is imported):

1. `continual-ml init --from history.csv` drafts the dataset YAML; `init` validates it;
2. `continual-ml ingest history.csv` lands the first `history_days` days, labels included;
3. `continual-ml bootstrap` trains and promotes the first champion on them;
4. each later day lands without its labels, as the landing sensor would run it (the monitoring
   job on the day's file); the champion in charge is scored on the day's rows before any label
   is known (prequential accuracy); the day's labels land the next moment as a label file;
   `late_labels_sensor` re-measures the day and `drift_retrain_sensor` decides on it, and every
   run they request is executed, as the daemon would.

Against two baselines trained by the same pipeline (`continual_ml.training.pipeline`): a static
model trained on the history, and a model retrained every day on the last `training_window_days`
days. Writes `benchmarks/results/user_datasets.json` and prints a table per dataset.

    python -m benchmarks.user_datasets
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "user_datasets.json"


def phishing() -> pd.DataFrame:
    """1,250 web pages, 50 a day: numeric ratios, a boolean, a binary label (river Phishing)."""
    from river import datasets

    rows = pd.DataFrame([{**x, "is_phishing": int(y)} for x, y in datasets.Phishing()])
    rows["ip_in_url"] = rows["ip_in_url"].astype(bool)
    return _days(rows, "url_id", per_day=50)


def shuttle() -> pd.DataFrame:
    """6,000 space-shuttle sensor readings, 300 a day, the rare class as 1 (river Shuttle)."""
    from river import datasets

    rows = pd.DataFrame(
        [{**x, "anomaly": int(y)} for x, y in itertools.islice(datasets.Shuttle(), 6000)]
    )
    return _days(rows, "reading_id", per_day=300)


def _days(rows: pd.DataFrame, id_name: str, per_day: int) -> pd.DataFrame:
    """Stamp rows in their order, `per_day` to a day from 2026-03-01, spread over each day."""
    index = np.arange(len(rows))
    seconds = (index // per_day) * 86400 + (index % per_day) * (86000 // per_day)
    rows.insert(0, id_name, [f"{id_name[0]}{i}" for i in index])
    rows.insert(1, "event_time", pd.Timestamp("2026-03-01") + pd.to_timedelta(seconds, "s"))
    return rows


DATASETS = {"phishing": (phishing, "is_phishing"), "shuttle": (shuttle, "anomaly")}
HISTORY_DAYS = 8
OWN_ENV = ("CONTINUAL_ML_", "DAGSTER_", "BENTOML_", "MLFLOW_")


def run_one(name: str, folder: Path) -> dict:
    """Play one dataset through the loop in this process; its per-day record and summary."""
    build, label = DATASETS[name]
    rows = build()
    rows["day"] = rows["event_time"].dt.date
    days = sorted(rows["day"].unique())
    folder.mkdir(parents=True, exist_ok=True)
    history = folder / "history.csv"
    rows[rows["day"] < days[HISTORY_DAYS]].drop(columns="day").to_csv(history, index=False)
    os.environ["CONTINUAL_ML_HOME"] = str(folder / "home")
    os.environ["CONTINUAL_ML_CONFIG"] = str(folder / "dataset.yaml")
    os.environ["CONTINUAL_ML_LANDING_DIR"] = str(folder / "landing")
    from continual_ml.app import cli

    started = perf_counter()
    steps = (
        ["init", "--from", str(history), "--out", str(folder / "dataset.yaml")],
        ["init"],
        ["ingest", str(history)],
        ["bootstrap"],
    )
    for argv in steps:
        if cli.main(argv) != 0:
            raise RuntimeError(f"continual-ml {' '.join(argv)} failed")
    return _replay(rows, days, label, folder, started)


def _replay(rows, days, label, folder, started) -> dict:
    import dagster as dg
    import duckdb

    from continual_ml.app.first_champion import QUIET_RUN_CONFIG, bound_definitions
    from continual_ml.config import Paths, load_config
    from continual_ml.defs.resources import DatasetResource
    from continual_ml.training.pipeline import fit_candidate, load_model
    from continual_ml.warehouse import registry

    paths, config = Paths.from_env(), load_config()
    defs = bound_definitions(paths)
    instance = dg.DagsterInstance.get()
    features = config.feature_names
    id_name = config.id_column
    cursors: dict[str, str | None] = {}

    def execute(job: str, partition: str, run_config=None, tags=None):
        return defs.resolve_job_def(job).execute_in_process(
            partition_key=partition,
            instance=instance,
            run_config={**QUIET_RUN_CONFIG, **(run_config or {})},
            tags=tags or {},
            raise_on_error=False,
        )

    def tick(sensor: str) -> list:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursors.get(sensor),
            definitions=defs,
            resources={"dataset": DatasetResource(config_path=os.environ["CONTINUAL_ML_CONFIG"])},
        )
        result = defs.resolve_sensor_def(sensor).evaluate_tick(context)
        cursors[sensor] = result.cursor
        return result.run_requests

    def labelled(frame):
        return frame.rename(columns={id_name: "row_id", config.event_time_column: "event_time"})

    history = labelled(rows[rows["day"] < days[HISTORY_DAYS]])
    static = fit_candidate(config, history)
    record, retrains, promotions = [], 0, 0
    landing = folder / "landing"
    (landing / "labels").mkdir(parents=True, exist_ok=True)
    for index in range(HISTORY_DAYS, len(days)):
        day, partition = days[index], str(days[index])
        today = rows[rows["day"] == day].drop(columns="day")
        with duckdb.connect(str(paths.warehouse), read_only=True) as conn:
            champion = registry.current_champion(conn)
        served = load_model(champion["artifact"], champion["sha256"])
        window = [d for d in days[:index] if d >= days[index - config.model.training_window_days]]
        daily = fit_candidate(config, labelled(rows[rows["day"].isin(window)]))
        truth = today[label].to_numpy()

        def accuracy(model, today=today, truth=truth):
            return float((model.predict(today[features]) == truth).mean())

        scores = {"loop": accuracy(served), "static": accuracy(static), "daily": accuracy(daily)}
        landed = landing / f"{partition}.csv"
        today.drop(columns=label).to_csv(landed, index=False)
        files = {"ops": {"observations": {"config": {"landed_files": [str(landed)]}}}}
        monitored = execute("monitoring_job", partition, files)
        [report] = monitored.asset_materializations_for_node("drift_report")
        labels = landing / "labels" / f"{partition}.csv"
        today[[id_name, label]].to_csv(labels, index=False)
        ingest = {"paths": [str(labels)], "kind": "labels"}
        defs.resolve_job_def("ingest_file_job").execute_in_process(
            instance=instance,
            run_config={**QUIET_RUN_CONFIG, "ops": {"ingest_landed_file": {"config": ingest}}},
        )
        for request in tick("late_labels_sensor"):
            execute("performance_job", request.partition_key, tags=request.tags)
        events = []
        for request in tick("drift_retrain_sensor"):
            retrains += 1
            run = execute("retrain_job", request.partition_key, tags=request.tags)
            promoted = bool(run.asset_materializations_for_node("champion_model"))
            promotions += promoted
            events.append(f"retrain {'promoted' if promoted else 'refused'}")
        record.append(
            {
                "day": partition,
                "rows": len(today),
                "champion": champion["version"],
                "drift_share": float(report.metadata["drift_share"].value),
                **{k: round(v, 4) for k, v in scores.items()},
                "events": "; ".join(events),
            }
        )
    with duckdb.connect(str(paths.warehouse), read_only=True) as conn:
        # what monitoring recorded once each day's late labels had landed and been re-measured
        realized = dict(
            conn.execute(
                "SELECT strftime(partition_date, '%Y-%m-%d'), realized_accuracy "
                "FROM performance_history"
            ).fetchall()
        )
    for day in record:
        day["realized_accuracy"] = realized.get(day["day"])
    frame = pd.DataFrame(record)
    return {
        "config": config.model_dump(mode="json"),
        "days": record,
        "summary": {
            "days_replayed": len(record),
            "rows_per_day": int(frame["rows"].median()),
            "mean_accuracy": {k: round(float(frame[k].mean()), 4) for k in scores},
            "retrains_requested": retrains,
            "promotions": promotions,
            "seconds": round(perf_counter() - started, 1),
        },
    }


def run(names=tuple(DATASETS), output: Path = RESULTS) -> dict:
    """Each dataset in a child process of its own; the JSON report, also written to `output`."""
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            target = Path(scratch) / f"{name}.json"
            subprocess.run(
                [sys.executable, "-m", "benchmarks.user_datasets", "--one", name, "--to", scratch],
                check=True,
                # a fresh home each: nothing of the caller's continual-ml or Dagster settings
                env={k: v for k, v in os.environ.items() if not k.startswith(OWN_ENV)},
            )
            results[name] = json.loads(target.read_text())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    for name, result in results.items():
        print(markdown(name, result))
    return results


def markdown(name: str, result: dict) -> str:
    summary = result["summary"]
    accuracy = summary["mean_accuracy"]
    return (
        f"\n{name}: {summary['days_replayed']} days of ~{summary['rows_per_day']} rows\n\n"
        "| strategy | mean prequential accuracy | retrains | promotions |\n|---|---|---|---|\n"
        f"| loop (continual-ml) | {accuracy['loop']:.3f} | {summary['retrains_requested']} "
        f"| {summary['promotions']} |\n"
        f"| static (history only) | {accuracy['static']:.3f} | 0 | 0 |\n"
        f"| retrain every day | {accuracy['daily']:.3f} | {summary['days_replayed']} | - |\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=list(DATASETS), help="run one dataset in this process")
    parser.add_argument("--to", help="with --one: the folder its JSON goes to")
    args = parser.parse_args()
    if args.one:
        result = run_one(args.one, Path(args.to) / args.one)
        (Path(args.to) / f"{args.one}.json").write_text(json.dumps(result, default=str))
    else:
        run()


if __name__ == "__main__":
    main()
