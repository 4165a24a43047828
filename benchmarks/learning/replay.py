"""One dataset, as a new user runs it, with every strategy scored on the same days.

In a fresh home (the daily partitions start where the data does, fixed when the code location
is imported, hence one process per dataset):

1. `continual-ml init --from history.csv` drafts the dataset YAML; `init` validates it;
2. `continual-ml ingest history.csv` lands the history's days, labels included;
3. `continual-ml bootstrap` trains and promotes the first champion on them;
4. each later day: every strategy predicts the day's rows with the model it holds before any
   of them is labelled (prequential accuracy); the day's file lands without labels and is
   monitored; the labels of the day `label_delay` days earlier land as a label file; the
   deciding sensors are ticked and their runs executed.
"""

from __future__ import annotations

import os
from pathlib import Path
from time import perf_counter

import pandas as pd

from benchmarks.learning.arms import Baselines, FitCounter
from benchmarks.learning.datasets import DATASETS


def run_one(name: str, folder: Path, label_delay: int = 2, max_days: int | None = None) -> dict:
    """Play one dataset through the loop in this process; its per-day record and settings."""
    spec = DATASETS[name]
    counter = FitCounter().install()
    rows = spec.build()
    rows["day"] = rows["event_time"].dt.date
    days = sorted(rows["day"].unique())
    history_days, replayed = days[: spec.history_days], days[spec.history_days :]
    replayed = replayed[:max_days] if max_days else replayed
    folder.mkdir(parents=True, exist_ok=True)
    history = folder / "history.csv"
    rows[rows["day"].isin(history_days)].drop(columns="day").to_csv(history, index=False)
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
    bootstrap_seconds = perf_counter() - started
    bootstrap_fits = counter.fits["loop"]
    record = _replay(rows, history_days, replayed, spec, label_delay, folder, counter)
    return {
        "settings": {
            "label": spec.label,
            "history_days": len(history_days),
            "history_rows": int(rows["day"].isin(history_days).sum()),
            "days_replayed": len(replayed),
            "label_delay_days": label_delay,
            "shift_days": [i for i in spec.shifts if i < len(replayed)],
        },
        "init_draft": (folder / "dataset.yaml").read_text(),
        "days": record,
        "fits": {**counter.fits, "bootstrap": bootstrap_fits},
        "seconds": {"bootstrap": round(bootstrap_seconds, 1), "total": _since(started)},
        "source_rows": int(rows["day"].isin([*history_days, *replayed]).sum()),
        "warehouse": _warehouse_accounting(),
    }


def _replay(rows, history_days, replayed, spec, label_delay, folder, counter) -> list[dict]:
    from benchmarks.learning.loop_driver import LoopDriver

    loop = LoopDriver()
    config, label = loop.config, spec.label
    features = config.feature_names
    baselines = Baselines(config, rows, history_days, counter)
    first_version, static_first = loop.champion()
    landing = folder / "landing"
    (landing / "labels").mkdir(parents=True, exist_ok=True)
    known = list(history_days)  # the days whose labels have landed
    kept = None  # (version, model): the champion in charge when the latest shift began
    record = []
    for index, day in enumerate(replayed):
        partition = str(day)
        today = rows[rows["day"] == day].drop(columns="day")
        truth = today[label].to_numpy()
        version, served = loop.champion()
        if index in spec.shifts:
            kept = (version, served)
        models = {
            "loop": served,
            "static_first": static_first,
            "static_all": baselines.static_all,
            "daily": baselines.daily_for(known),
        }
        correct = {arm: _correct(model, today[features], truth) for arm, model in models.items()}
        if kept is not None:
            correct["kept"] = _correct(kept[1], today[features], truth)
        landed = landing / f"{partition}.csv"
        today.drop(columns=label).to_csv(landed, index=False)
        drift_share = loop.monitor(partition, landed)
        labelled_day = replayed[index - label_delay] if index >= label_delay else None
        if labelled_day is not None:
            labels = landing / "labels" / f"{labelled_day}.csv"
            late = rows[rows["day"] == labelled_day]
            late[[config.id_column, label]].to_csv(labels, index=False)
            loop.land_labels(labels)
            known.append(labelled_day)
        record.append(
            {
                "day": partition,
                "rows": len(today),
                "champion": version,
                "first_champion": first_version,
                "kept_champion": kept[0] if kept else None,
                "drift_share": round(drift_share, 4),
                "daily_retrained": baselines.refitted,
                "labels_landed_for": str(labelled_day) if labelled_day else None,
                "correct": correct,
                "runs": loop.decide(),
            }
        )
    return record


def _correct(model, features: pd.DataFrame, truth) -> int:
    """How many of the day's rows the model labels right."""
    return int((model.predict(features) == truth).sum())


def _warehouse_accounting() -> dict:
    """Rows the warehouse holds and quarantined, and what monitoring measured per day."""
    import duckdb

    from continual_ml.config import Paths

    with duckdb.connect(str(Paths.from_env().warehouse), read_only=True) as conn:
        count = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        realized = conn.execute(
            "SELECT strftime(partition_date, '%Y-%m-%d'), realized_accuracy "
            "FROM performance_history ORDER BY 1"
        ).fetchall()
        return {
            "observations": count("SELECT count(*) FROM observations"),
            "quarantined_rows": count(
                "SELECT count(*) FROM quarantined_rows WHERE kind = 'observations'"
            ),
            "realized_accuracy": dict(realized),
        }


def _since(started: float) -> float:
    return round(perf_counter() - started, 1)
