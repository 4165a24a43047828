"""One regression dataset, as a new user runs it, with every strategy scored on the same days.

As `benchmarks.learning.replay` does for classification, in a fresh home: `init --from` drafts
the YAML (checked to say `task: regression`; where the draft cannot name the label, the user's
hand fix is applied and recorded), `init` validates it, `ingest` lands the history, `bootstrap`
promotes the first champion; then each later day every strategy predicts the day's rows before
any is labelled (prequential absolute and squared errors), the day's file lands without labels
and is monitored, the labels of the day `label_delay` days earlier land, and the deciding
sensors are ticked and their runs executed (`RegressionLoopDriver`).
"""

from __future__ import annotations

import os
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd
import yaml

from benchmarks.learning.arms import Baselines, FitCounter
from benchmarks.learning.regression_datasets import REGRESSION_DATASETS
from benchmarks.learning.regression_driver import RegressionLoopDriver


def run_one(name: str, folder: Path, label_delay: int = 2, max_days: int | None = None) -> dict:
    """Play one regression dataset through the loop in this process; its per-day record."""
    spec = REGRESSION_DATASETS[name]
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
    draft = folder / "dataset.yaml"
    _cli(cli, ["init", "--from", str(history), "--out", str(draft)])
    drafted = draft.read_text()
    hand_fix = fix_draft(draft, spec.label)
    for argv in (["init"], ["ingest", str(history)], ["bootstrap"]):
        _cli(cli, argv)
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
        "init_draft": drafted,
        "drafted_regression": "task: regression" in drafted,
        "hand_fix": hand_fix,
        "config": draft.read_text(),
        "days": record,
        "fits": {**counter.fits, "bootstrap": bootstrap_fits},
        "seconds": {"bootstrap": round(bootstrap_seconds, 1), "total": _since(started)},
        "source_rows": int(rows["day"].isin([*history_days, *replayed]).sum()),
        "warehouse": _warehouse_accounting(),
    }


def fix_draft(path: Path, label: str) -> list[str]:
    """What a user changes by hand in the draft at `path` so that `label` is the regression
    label (nothing when the draft already says so); the changes, in words."""
    config = yaml.safe_load(path.read_text())
    fixes = []
    if config.get("label") != label:
        fixes.append(f"label: {config.get('label')!r} -> {label!r} (no --label option)")
        config["label"] = label
        kept = [f for f in config["features"] if f["name"] != label]
        if len(kept) < len(config["features"]):
            fixes.append(f"`{label}` removed from the features (it was drafted as one)")
        config["features"] = kept
    if config.get("task") != "regression":
        fixes.append(f"task: {config.get('task', 'classification')!r} -> 'regression'")
        config["task"] = "regression"
        config.pop("classes", None)
    if fixes:
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    return fixes


def _cli(cli, argv: list[str]) -> None:
    if cli.main(argv) != 0:
        raise RuntimeError(f"continual-ml {' '.join(argv)} failed")


def _replay(rows, history_days, replayed, spec, label_delay, folder, counter) -> list[dict]:
    loop = RegressionLoopDriver()
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
        truth = today[label].to_numpy(dtype=float)
        version, served = loop.champion()
        if index in spec.shifts:
            kept = (version, served)
        models = {
            "loop": served,
            "static_first": static_first,
            "static_all": baselines.static_all,
            "daily": baselines.daily_for(known),
        }
        if kept is not None:
            models["kept"] = kept[1]
        predicted = {arm: model.predict(today[features]) for arm, model in models.items()}
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
                "monitored": loop.monitored_metadata(partition),
                "daily_retrained": baselines.refitted,
                "labels_landed_for": str(labelled_day) if labelled_day else None,
                "errors": {arm: errors(p, truth) for arm, p in predicted.items()},
                "interval": loop.interval_hits(version, predicted["loop"], truth),
                "runs": loop.decide(),
            }
        )
    return record


def errors(predicted, truth) -> dict:
    """Sums of absolute and squared errors over the day's rows (row-weighted across days)."""
    residual = np.asarray(predicted, dtype=float) - truth
    return {"abs": float(np.abs(residual).sum()), "sq": float((residual**2).sum())}


def _warehouse_accounting() -> dict:
    """Rows the warehouse holds and quarantined, and monitoring's regression table per day
    (None where the table does not exist)."""
    import duckdb

    from continual_ml.config import Paths

    with duckdb.connect(str(Paths.from_env().warehouse), read_only=True) as conn:
        count = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        tables = {
            t
            for (t,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        performance = None
        if "regression_performance" in tables:
            frame = conn.execute(
                "SELECT * FROM regression_performance ORDER BY partition_date"
            ).df()
            frame["partition_date"] = pd.to_datetime(frame["partition_date"]).dt.strftime(
                "%Y-%m-%d"
            )
            performance = [
                {k: (None if _missing(v) else v) for k, v in row.items()}
                for row in frame.to_dict("records")
            ]
        return {
            "observations": count("SELECT count(*) FROM observations"),
            "quarantined_rows": count(
                "SELECT count(*) FROM quarantined_rows WHERE kind = 'observations'"
            ),
            "labels": count("SELECT count(DISTINCT row_id) FROM labels"),
            "regression_performance": performance,
        }


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _since(started: float) -> float:
    return round(perf_counter() - started, 1)
