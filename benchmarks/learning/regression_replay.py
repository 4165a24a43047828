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

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks.learning.regression_datasets import REGRESSION_DATASETS
from benchmarks.learning.regression_driver import RegressionLoopDriver
from benchmarks.learning.user_replay import bootstrapped, replay_days, warehouse_counts


def run_one(name: str, folder: Path, label_delay: int = 2, max_days: int | None = None) -> dict:
    """Play one regression dataset through the loop in this process; its per-day record."""
    spec = REGRESSION_DATASETS[name]
    user = bootstrapped(spec, folder, max_days, fix_draft)
    loop = RegressionLoopDriver()
    features, label = loop.config.feature_names, spec.label

    def score(models: dict, today: pd.DataFrame, version: int) -> dict:
        # the interval is the champion's own, from its evaluation: landing the day changes
        # nothing it reads
        truth = today[label].to_numpy(dtype=float)
        predicted = {arm: model.predict(today[features]) for arm, model in models.items()}
        return {
            "errors": {arm: errors(p, truth) for arm, p in predicted.items()},
            "interval": loop.interval_hits(version, predicted["loop"], truth),
        }

    days = replay_days(loop, user, spec, label_delay, folder, score)
    return {
        "settings": user.split.settings(spec.label, label_delay, spec.shifts),
        "init_draft": user.drafted,
        "drafted_regression": "task: regression" in user.drafted,
        "hand_fix": user.hand_fix,
        "config": (folder / "dataset.yaml").read_text(),
        "days": days,
        **user.accounting(),
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
        labels = conn.execute("SELECT count(DISTINCT row_id) FROM labels").fetchone()[0]
        return {**warehouse_counts(conn), "labels": labels, "regression_performance": performance}


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
