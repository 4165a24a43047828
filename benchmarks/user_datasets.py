"""Your own data, for real: public datasets nobody here made, run as a new user would.

Issue 17's four kinds, each from data that ships inside an installed package (read offline),
cut into days: a binary book with a shift part way (`book`, statsmodels' Fair survey), the same
with missing values and an unseen category (`book_with_gaps`), three text classes
(`image_segments`, river's ImageSegments) and ten categorical columns (`solar_flares`, river's
SolarFlare); river's Phishing and Shuttle run with `--names`. Per dataset, in a fresh home and
its own process (the daily partitions start where the data does, fixed when the code location
is imported):

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


PER_DAY_BOOK = 200
SHIFT_AFTER = 3  # replayed days before the book's shift
OCCUPATIONS = {  # Fair's codebook for `occupation` and `occupation_husb`
    1: "student",
    2: "farming, semi-skilled or unskilled",
    3: "white collar",
    4: "teacher, nurse, writer, technician or skilled",
    5: "managerial or business",
    6: "professional with advanced degree",
}


def book(missing: bool = False) -> pd.DataFrame:
    """A binary book with a shift: Fair's 6,366 survey answers (statsmodels' bundled `fair`),
    200 a day, label `affair` (any time spent in affairs).

    The file is stored sorted by its label, so it has no natural order to keep: arrivals are a
    seeded shuffle within two segments. The history and the first `SHIFT_AFTER` replayed days
    come from long marriages (married 10 years or more, 43% positive); from then on from shorter
    ones (26% positive), the way a book moves into a new segment. With `missing`, `educ` and
    `occupation_husb` are empty on 10% of rows, 25% after the shift, and after the shift 8% of
    rows bring an occupation the history never had (`gig work`)."""
    import statsmodels.api as sm

    raw = sm.datasets.fair.load_pandas().data
    rows = raw[["rate_marriage", "age", "yrs_married", "children", "religious", "educ"]].copy()
    rows["occupation"] = raw["occupation"].astype(int).map(OCCUPATIONS)
    rows["occupation_husb"] = raw["occupation_husb"].astype(int).map(OCCUPATIONS)
    rows["affair"] = (raw["affairs"] > 0).astype(int)
    before_days = HISTORY_DAYS + SHIFT_AFTER
    long = rows[rows["yrs_married"] >= 10].sample(frac=1, random_state=17)
    short = rows[rows["yrs_married"] < 10].sample(frac=1, random_state=17)
    rows = pd.concat(
        [long.iloc[: before_days * PER_DAY_BOOK], short.iloc[: 12 * PER_DAY_BOOK]],
        ignore_index=True,
    )
    if missing:
        rng = np.random.default_rng(17)
        shifted = np.arange(len(rows)) >= before_days * PER_DAY_BOOK
        share = np.where(shifted, 0.25, 0.10)
        for column in ("educ", "occupation_husb"):
            rows[column] = rows[column].mask(rng.random(len(rows)) < share)
        rows.loc[shifted & (rng.random(len(rows)) < 0.08), "occupation"] = "gig work"
    return _days(rows, "customer_id", per_day=PER_DAY_BOOK)


def book_with_gaps() -> pd.DataFrame:
    """The same book with missing values rising and an unseen category after the shift."""
    return book(missing=True)


SEGMENT_GROUPS = {"sky": "sky", "foliage": "vegetation", "grass": "vegetation"}


def image_segments() -> pd.DataFrame:
    """2,310 outdoor image regions, 140 a day, in river's bundled order (ImageSegments): 18
    numeric features, three text classes. The seven classes are grouped into `sky`,
    `vegetation` (foliage, grass) and `man-made` (brickface, cement, window, path)."""
    from river import datasets

    rows = pd.DataFrame(
        [
            {
                **{k.replace("-", "_"): v for k, v in x.items()},
                "class": SEGMENT_GROUPS.get(y, "man-made"),
            }
            for x, y in datasets.ImageSegments()
        ]
    )
    return _days(rows, "region_id", per_day=140)


SOLAR_CODES = {  # the UCI codebook of the coded columns
    "activity": {1: "reduced", 2: "unchanged"},
    "evolution": {1: "decay", 2: "no growth", 3: "growth"},
    "previous_24h_flare_activity": {1: "below M1", 2: "one M1", 3: "above one M1"},
    "hist_complex": {1: "was complex", 2: "never complex"},
    "hist_complex_this_pass": {1: "became complex", 2: "did not"},
    "area": {1: "small", 2: "large"},
    "largest_spot_area": {1: "5 or less", 2: "above 5"},
}


def solar_flares() -> pd.DataFrame:
    """1,066 sunspot regions, 50 a day, in river's bundled order (SolarFlare): all 10 features
    categorical (Zurich class, spot size and distribution as letters; the 7 coded ones written
    as their codebook's words); label `flare`: the region produced any C, M or X flare."""
    from river import datasets

    records = []
    for x, y in datasets.SolarFlare():
        row = {k.replace("-", "_"): v for k, v in x.items()}
        row.update({k: codes[row[k]] for k, codes in SOLAR_CODES.items()})
        records.append({**row, "flare": int(sum(y.values()) > 0)})
    return _days(pd.DataFrame(records), "region_id", per_day=50)


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
    """Stamp rows in their order, `per_day` to a day from 2026-03-01, spread over each day; a
    last, incomplete day is left out (its row count would fail the partition's checks)."""
    rows = rows.iloc[: len(rows) // per_day * per_day].reset_index(drop=True)
    index = np.arange(len(rows))
    seconds = (index // per_day) * 86400 + (index % per_day) * (86000 // per_day)
    rows.insert(0, id_name, [f"{id_name[0]}{i}" for i in index])
    rows.insert(1, "event_time", pd.Timestamp("2026-03-01") + pd.to_timedelta(seconds, "s"))
    return rows


HISTORY_DAYS = 8
# name: (rows, label, the replayed day the data shifts on, or None)
DATASETS = {
    "book": (book, "affair", SHIFT_AFTER),
    "book_with_gaps": (book_with_gaps, "affair", SHIFT_AFTER),
    "image_segments": (image_segments, "class", None),
    "solar_flares": (solar_flares, "flare", None),
    "phishing": (phishing, "is_phishing", None),
    "shuttle": (shuttle, "anomaly", None),
}
ISSUE_17 = ("book", "book_with_gaps", "image_segments", "solar_flares")
OWN_ENV = ("CONTINUAL_ML_", "DAGSTER_", "BENTOML_", "MLFLOW_")


def run_one(name: str, folder: Path) -> dict:
    """Play one dataset through the loop in this process; its per-day record and summary."""
    build, label, shift = DATASETS[name]
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
    result = _replay(rows, days, label, shift, folder, started)
    result["init_draft"] = (folder / "dataset.yaml").read_text()
    return result


def _replay(rows, days, label, shift, folder, started) -> dict:
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
    record, retrains, promotions, kept = [], 0, 0, None
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
        if shift is not None and index == HISTORY_DAYS + shift:
            kept = served  # the champion in charge when the data shifts
        if kept is not None:
            scores["kept"] = accuracy(kept)
        landed = landing / f"{partition}.csv"
        today.drop(columns=label).to_csv(landed, index=False)
        files = {"ops": {"observations": {"config": {"landed_files": [str(landed)]}}}}
        monitored = execute("monitoring_job", partition, files)
        if not monitored.success:
            failures = [e for e in monitored.all_events if e.is_step_failure]
            details = failures[0].step_failure_data.error.to_string() if failures else ""
            raise RuntimeError(f"monitoring_job failed on {partition}: {details}")
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
            # champion_model records every decision, a refusal too: read which it was
            decided = run.asset_materializations_for_node("champion_model")
            decision = decided[0].metadata["decision"].value if decided else "failed"
            promotions += decision == "promoted"
            events.append(f"retrain {decision}")
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
        quarantined = dict(
            conn.execute(
                "SELECT strftime(partition_date, '%Y-%m-%d'), count(*) FROM quarantined_rows "
                "WHERE kind = 'observations' GROUP BY ALL"
            ).fetchall()
        )
    for day in record:
        day["realized_accuracy"] = realized.get(day["day"])
        day["quarantined_rows"] = quarantined.get(day["day"], 0)
    frame = pd.DataFrame(record)
    summary = {
        "days_replayed": len(record),
        "rows_per_day": int(frame["rows"].median()),
        "mean_accuracy": {k: round(float(frame[k].mean()), 4) for k in ("loop", "static", "daily")},
        "retrains_requested": retrains,
        "promotions": promotions,
        "quarantined_rows": int(frame["quarantined_rows"].sum()),
        "seconds": round(perf_counter() - started, 1),
    }
    if shift is not None:
        summary.update(_after_shift(frame, shift))
    return {"config": config.model_dump(mode="json"), "days": record, "summary": summary}


def _after_shift(frame: pd.DataFrame, shift: int) -> dict:
    """From the replayed day the data shifts on: each strategy's mean accuracy, and the days
    until a champion promoted since is in charge and beats the one in charge at the shift."""
    after = frame.iloc[shift:].reset_index(drop=True)
    better = after[(after["champion"] != after["champion"][0]) & (after["loop"] > after["kept"])]
    return {
        "shift_day": after["day"][0],
        "accuracy_after_shift": {
            k: round(float(after[k].mean()), 4) for k in ("loop", "static", "daily", "kept")
        },
        "days_from_shift_to_better_champion": int(better.index[0]) if len(better) else None,
    }


def run(names=ISSUE_17, output: Path = RESULTS) -> dict:
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
    after = summary.get("accuracy_after_shift")
    shifted = (lambda k: f" | {after[k]:.3f}") if after else (lambda k: "")
    table = (
        f"\n{name}: {summary['days_replayed']} days of ~{summary['rows_per_day']} rows, "
        f"{summary['quarantined_rows']} rows quarantined\n\n"
        "| strategy | mean prequential accuracy"
        + (" | after the shift" if after else "")
        + " | retrains requested | promoted |\n|---|---|"
        + ("---|" if after else "")
        + "---|---|\n"
        f"| loop (continual-ml) | {accuracy['loop']:.3f}{shifted('loop')} "
        f"| {summary['retrains_requested']} | {summary['promotions']} |\n"
        f"| static (history only) | {accuracy['static']:.3f}{shifted('static')} | 0 | 0 |\n"
        f"| retrain every day | {accuracy['daily']:.3f}{shifted('daily')} "
        f"| {summary['days_replayed']} | {summary['days_replayed']} |\n"
    )
    if after:
        table += (
            f"\nshift on {summary['shift_day']}; days from the shift to a better champion: "
            f"{summary['days_from_shift_to_better_champion']}\n"
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=list(DATASETS), help="run one dataset in this process")
    parser.add_argument("--to", help="with --one: the folder its JSON goes to")
    parser.add_argument("--names", nargs="+", choices=list(DATASETS), default=list(ISSUE_17))
    args = parser.parse_args()
    if args.one:
        result = run_one(args.one, Path(args.to) / args.one)
        (Path(args.to) / f"{args.one}.json").write_text(json.dumps(result, default=str))
    else:
        run(tuple(args.names))


if __name__ == "__main__":
    main()
