"""A seeded stream of labelled daily batches whose features and concept drift on a known day.

Before the drift the label follows one linear rule over standard-normal features; after it,
three features shift (mean, mean, variance), the segment mix reverses and the rule changes,
so a model trained before the drift loses accuracy and an input-drift check can see it.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig

SEGMENTS = ("north", "south", "east", "west")
_SEGMENT_MIX = {"before": (0.4, 0.3, 0.2, 0.1), "after": (0.1, 0.2, 0.3, 0.4)}
_SEGMENT_EFFECT = {"before": (0.5, 0.0, -0.5, 0.0), "after": (-0.5, 0.5, 0.0, 0.0)}
_COEF = {"before": (2.0, -1.5, 1.0, 0.5, 0.0), "after": (-1.5, 1.0, 1.0, 0.5, 1.5)}
_MEAN_SHIFT = np.array([1.5, -1.0, 0.0, 0.0, 0.0])
_SCALE_SHIFT = np.array([1.0, 1.0, 2.0, 1.0, 1.0])
_SHARPNESS = 3.0


def drift_weight(day_index: int, drift_day: int, width_days: int) -> float:
    """Share of a day's rows drawn from the drifted regime: a step, or a ramp over the width."""
    if day_index < drift_day:
        return 0.0
    if width_days == 0:
        return 1.0
    return min(1.0, (day_index - drift_day + 1) / (width_days + 1))


def day_index(config: DatasetConfig, day: date) -> int:
    return (day - config.stream.start_date).days


def partition_date(config: DatasetConfig, index: int) -> date:
    return config.stream.start_date + timedelta(days=index)


def generate_batch(config: DatasetConfig, day: date) -> pd.DataFrame:
    """The labelled rows observed on `day`; the same config and day always give the same rows."""
    stream = config.stream
    index = day_index(config, day)
    rng = np.random.default_rng([stream.seed, index])
    n = stream.rows_per_day
    drifted = rng.random(n) < drift_weight(index, stream.drift_day, stream.drift_width_days)

    features = rng.standard_normal((n, len(_MEAN_SHIFT)))
    features[drifted] = features[drifted] * _SCALE_SHIFT + _MEAN_SHIFT
    segment_codes = np.where(
        drifted,
        rng.choice(len(SEGMENTS), size=n, p=_SEGMENT_MIX["after"]),
        rng.choice(len(SEGMENTS), size=n, p=_SEGMENT_MIX["before"]),
    )
    logit = np.where(
        drifted,
        features @ np.array(_COEF["after"]) + np.array(_SEGMENT_EFFECT["after"])[segment_codes],
        features @ np.array(_COEF["before"]) + np.array(_SEGMENT_EFFECT["before"])[segment_codes],
    )
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-_SHARPNESS * logit))).astype(np.int64)

    seconds = np.sort(rng.uniform(0, 86_400, size=n))
    midnight = datetime.combine(day, time())
    frame = pd.DataFrame(features, columns=[f"x{i}" for i in range(features.shape[1])])
    frame["segment"] = np.array(SEGMENTS)[segment_codes]
    frame[config.label] = label
    frame.insert(0, "row_id", [f"{day.isoformat()}-{i:06d}" for i in range(n)])
    frame["event_time"] = pd.to_datetime(midnight) + pd.to_timedelta(seconds, unit="s")
    frame["batch_id"] = f"synthetic-{day.isoformat()}"
    return frame


def write_batch_file(rows: pd.DataFrame, target: Path) -> Path:
    """Write a batch (CSV or Parquet, by the target's suffix) under a name the landing sensor
    ignores, then rename it into place, so no reader ever sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    if target.suffix == ".csv":
        rows.to_csv(partial, index=False)
    else:
        rows.to_parquet(partial, index=False)
    os.replace(partial, target)
    return target


def batch_file(config: DatasetConfig, day: date, folder: Path) -> Path:
    """The stream's batch for `day`, as a file to land (the demo's data arrives like yours)."""
    return write_batch_file(generate_batch(config, day), folder / f"synthetic-{day}.parquet")
