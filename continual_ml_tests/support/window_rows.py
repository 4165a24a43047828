"""Labelled rows by day for the window choices: a label that is the sign of x0, its concept
flipped from a given day on, and a config with candidate window lengths."""

from datetime import date, timedelta

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig

FIRST = date(2026, 1, 1)
N_FEATURES = 20


def dataset(candidates, min_rows=0, validation_rows=200) -> DatasetConfig:
    return DatasetConfig(
        name="windows",
        features=[{"name": f"x{i}", "kind": "numeric"} for i in range(N_FEATURES)],
        model={
            "training_window": {
                "candidates_days": candidates,
                "min_rows": min_rows,
                "validation_rows": validation_rows,
            }
        },
    )


def days_of_rows(n_days: int, per_day: int, flip_from: int | None = None, seed: int = 3):
    """`per_day` rows a day whose label is the sign of x0 (with 10% noise); from day
    `flip_from` on the concept flips: the label is the sign of -x0."""
    rng = np.random.default_rng(seed)
    n = n_days * per_day
    features = rng.normal(size=(n, N_FEATURES))
    day = np.repeat(np.arange(n_days), per_day)
    sign = np.where(day >= flip_from, -1, 1) if flip_from is not None else 1
    label = (sign * features[:, 0] > 0).astype(int)
    noisy = rng.random(n) < 0.1
    label[noisy] = 1 - label[noisy]
    rows = pd.DataFrame(features, columns=[f"x{i}" for i in range(N_FEATURES)])
    rows["label"] = label
    rows["partition_date"] = [FIRST + timedelta(days=int(d)) for d in day]
    rows["event_time"] = pd.Timestamp(FIRST) + pd.to_timedelta(np.arange(n) * 60, "s")
    rows["row_id"] = [f"r{i}" for i in range(n)]
    return rows


def last_day(rows) -> date:
    return rows["partition_date"].max()
