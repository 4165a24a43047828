"""A three-class dataset with text labels, from the iris flowers: days of rows and its config,
for the multiclass tests."""

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris

from continual_ml.config import DatasetConfig

CLASSES = ["low", "medium", "high"]  # not in sorted order: the config's order is the one served
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
PER_DAY = 240


def iris_days(start: str, days: int, shift: int, seed: int) -> pd.DataFrame:
    """Iris flowers resampled with a little noise, `PER_DAY` a day; from `shift` on each flower
    takes the next class's name, a concept shift the first champion cannot know."""
    iris = load_iris()
    rng = np.random.default_rng(seed)
    n = days * PER_DAY
    picked = rng.integers(0, len(iris.target), n)
    values = iris.data[picked] + rng.normal(scale=0.05, size=(n, 4))
    times = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)), "s")
    target = (iris.target[picked] + shift) % 3
    return pd.DataFrame(
        {
            "flower_id": [f"{start}-{i}" for i in range(n)],
            "measured_at": times,
            **{name: values[:, j].round(3) for j, name in enumerate(FEATURES)},
            "grade": np.array(CLASSES, dtype=object)[target],
        }
    )


def iris_config() -> DatasetConfig:
    return DatasetConfig.model_validate(
        {
            "name": "iris",
            "label": "grade",
            "classes": CLASSES,
            "id_column": "flower_id",
            "event_time_column": "measured_at",
            "first_day": "2026-03-01",
            "features": [{"name": name, "kind": "numeric"} for name in FEATURES],
            "model": {"training_window_days": 3, "min_holdout_rows": 150},
        }
    )
