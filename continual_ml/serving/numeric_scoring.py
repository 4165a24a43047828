"""Scoring rows with a regression champion: one finite number per row.

The counterpart of the class probabilities `follower.predict_rows` answers for a classifier. A
linear champion (a ridge behind the scaler and one-hot encoder) is scored with numpy by its
`LinearScorer`; any other model, and rows with a missing value (the fast scorer has no imputer),
through the pipeline. A row whose number is not finite (values near float64's limits) is refused
with `UnscorableRows`, as a classifier's row without finite probabilities is. A champion
exported with a split-conformal calibration (`conformal` in its manifest) answers each number
with its interval too.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.serving.unscorable_rows import UnscorableRows
from continual_ml.training.conformal import ConformalCalibration


def numeric_smoke(pipeline, rows: pd.DataFrame) -> None:
    """Check that `pipeline` answers one finite number per row of `rows`, or raise ValueError."""
    predicted = np.asarray(pipeline.predict(rows))
    if predicted.shape != (len(rows),):
        raise ValueError(f"smoke prediction has shape {predicted.shape}, not one number a row")
    if not np.isfinite(predicted).all():
        raise ValueError("smoke prediction is not a finite number")


def served_calibration(manifest: dict) -> ConformalCalibration | None:
    """The conformal calibration a champion was exported with (`conformal` in its manifest), or
    None; ValueError for one the service cannot answer intervals from."""
    values = manifest.get("conformal")
    if values is None:
        return None
    calibration = ConformalCalibration.from_dict(values)
    if calibration.normalized:  # its per-row scale needs a second model, not exported
        raise ValueError("a normalized conformal calibration needs a scale the service lacks")
    width, level = calibration.half_width, calibration.level
    if not (math.isfinite(width) and width >= 0 and 0 < level < 1):
        raise ValueError(f"conformal calibration {values} has no finite width or valid level")
    return calibration


def predicted_numbers(model, config: DatasetConfig, rows: list[dict]) -> list[dict]:
    """Each row's predicted number and the scoring time, in order; `model` is a `ServedModel`.

    Raises UnscorableRows when the pipeline refuses the values or a number is not finite.
    """
    started = time.perf_counter()
    has_null = any(value is None for row in rows for value in row.values())
    fast = model.fast if model.fast is not None and not has_null else None
    if fast is not None and len(rows) == 1:
        values = np.array([fast.value_one(rows[0])])
    elif fast is not None:
        values = fast.values(rows)
    else:
        values = frame_numbers(model, config, pd.DataFrame(rows, columns=config.feature_names))
    _refuse_infinite(model, values)
    latency_ms = (time.perf_counter() - started) * 1000
    calibration = model.calibration
    if calibration is None:
        intervals = [None] * len(values)
    else:  # `conformal.prediction_intervals`, row by row: predicted ± the residual quantile
        half, level = calibration.half_width, calibration.level
        intervals = [
            {"lower": v - half, "upper": v + half, "level": level} for v in values.tolist()
        ]
    return [
        {"prediction": value, "interval": interval, "latency_ms": latency_ms}
        for value, interval in zip(values.tolist(), intervals, strict=True)
    ]


def frame_numbers(model, config: DatasetConfig, frame: pd.DataFrame) -> np.ndarray:
    """The pipeline's numbers for the rows of `frame`; UnscorableRows as `predicted_numbers`."""
    try:
        with np.errstate(all="ignore"):
            values = np.asarray(model.pipeline.predict(frame[config.feature_names]), dtype=float)
    except ValueError as error:  # e.g. "Input X contains infinity" after scaling 1e308
        raise UnscorableRows(f"model v{model.version} cannot score these values: {error}") from None
    _refuse_infinite(model, values)
    return values


def _refuse_infinite(model, values: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise UnscorableRows(
            f"model v{model.version} gives no finite prediction for rows {bad[:10].tolist()}"
        )
