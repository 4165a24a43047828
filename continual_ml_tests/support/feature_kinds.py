"""A dataset with a feature of each kind (a nullable bounded number, a boolean, a category), and
labelled rows of it to train on."""

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig

CONFIG = DatasetConfig.model_validate(
    {
        "name": "kinds",
        "features": [
            {"name": "amount", "kind": "numeric", "nullable": True, "min": 1, "max": 1000},
            {"name": "flag", "kind": "boolean"},
            {"name": "segment", "kind": "categorical", "categories": ["a", "b"]},
        ],
    }
)


def labelled_rows() -> pd.DataFrame:
    """400 seeded rows; the label follows `flag` (10% noise), a tenth of `amount` is missing."""
    rng = np.random.default_rng(0)
    n = 400
    flag = rng.random(n) < 0.5
    amount = rng.uniform(1, 1000, n)
    amount[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "row_id": [f"r{i}" for i in range(n)],
            "event_time": pd.date_range("2026-01-01", periods=n, freq="min"),
            "amount": amount,
            "flag": flag,
            "segment": rng.choice(["a", "b"], n),
            "label": (flag ^ (rng.random(n) < 0.1)).astype(int),
        }
    )
