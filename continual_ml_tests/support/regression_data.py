"""A seeded numeric target, written as a user's files would be: days of rows and its config, for
the regression tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig

SEGMENTS = ("north", "south", "west")
PER_DAY = 200


def regression_days(start: str, days: int, seed: int, shift: bool = False) -> pd.DataFrame:
    """`PER_DAY` rows a day of a price: linear in two numbers, an offset per segment, noise of
    sd 1. With `shift` the first number's effect flips sign: a concept shift no model trained
    before it can know."""
    rng = np.random.default_rng(seed)
    n = days * PER_DAY
    x0, x1 = rng.normal(size=n), rng.normal(size=n)
    segment = rng.integers(0, len(SEGMENTS), n)
    effect = -4.0 if shift else 4.0
    price = 10 + effect * x0 - 2.0 * x1 + np.array([0.0, 3.0, -3.0])[segment]
    price = price + rng.normal(scale=1.0, size=n)
    times = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)), "s")
    return pd.DataFrame(
        {
            "sale_id": [f"{start}-{seed}-{i}" for i in range(n)],
            "sold_at": times,
            "x0": x0.round(4),
            "x1": x1.round(4),
            "segment": np.array(SEGMENTS, dtype=object)[segment],
            "price": price.round(4),
        }
    )


def regression_config(family: str = "logistic_regression", **model) -> DatasetConfig:
    return DatasetConfig.model_validate(
        {
            "name": "prices",
            "task": "regression",
            "label": "price",
            "id_column": "sale_id",
            "event_time_column": "sold_at",
            "first_day": "2026-03-01",
            "features": [
                {"name": "x0", "kind": "numeric"},
                {"name": "x1", "kind": "numeric"},
                {"name": "segment", "kind": "categorical", "categories": list(SEGMENTS)},
            ],
            "model": {
                "family": family,
                "min_holdout_rows": 150,
                **({} if "training_window" in model else {"training_window_days": 3}),
                **model,
            },
        }
    )
