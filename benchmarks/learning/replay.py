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

from pathlib import Path

import pandas as pd

from benchmarks.learning.datasets import DATASETS
from benchmarks.learning.user_replay import bootstrapped, replay_days, warehouse_counts


def run_one(name: str, folder: Path, label_delay: int = 2, max_days: int | None = None) -> dict:
    """Play one dataset through the loop in this process; its per-day record and settings."""
    spec = DATASETS[name]
    user = bootstrapped(spec, folder, max_days)
    from benchmarks.learning.loop_driver import LoopDriver

    loop = LoopDriver()
    features, label = loop.config.feature_names, spec.label

    def score(models: dict, today: pd.DataFrame, version: int) -> dict:
        truth = today[label].to_numpy()
        return {"correct": {arm: _correct(m, today[features], truth) for arm, m in models.items()}}

    days = replay_days(loop, user, spec, label_delay, folder, score)
    return {
        "settings": user.split.settings(spec.label, label_delay, spec.shifts),
        "init_draft": user.drafted,
        "days": days,
        **user.accounting(),
        "warehouse": _warehouse_accounting(),
    }


def _correct(model, features: pd.DataFrame, truth) -> int:
    """How many of the day's rows the model labels right."""
    return int((model.predict(features) == truth).sum())


def _warehouse_accounting() -> dict:
    """Rows the warehouse holds and quarantined, and what monitoring measured per day."""
    import duckdb

    from continual_ml.config import Paths

    with duckdb.connect(str(Paths.from_env().warehouse), read_only=True) as conn:
        realized = conn.execute(
            "SELECT strftime(partition_date, '%Y-%m-%d'), realized_accuracy "
            "FROM performance_history ORDER BY 1"
        ).fetchall()
        return {**warehouse_counts(conn), "realized_accuracy": dict(realized)}
