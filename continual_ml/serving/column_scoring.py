"""Scoring a file's checked rows with one served model, a batch of columns at a time.

A linear champion is scored with numpy over whole columns (`LinearScorer.positive_proba_columns`);
any other model, and rows with a missing value (the fast scorer has no imputer), through the
pipeline on a DataFrame of those rows. Where the pipeline refuses a batch, the batch is halved
until the refused rows are found, so one unscorable row costs a few calls, not one per row. A
regression champion's rows get a number each (`LinearScorer.values_columns` for a ridge).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from continual_ml.config import DatasetConfig
from continual_ml.serving.file_checks import CheckedFeatures
from continual_ml.serving.follower import ServedModel, UnscorableRows, frame_proba
from continual_ml.serving.numeric_scoring import frame_numbers

ERROR_CHARS = 200


@dataclass(frozen=True)
class ScoredRows:
    """One batch's answers: probabilities in the model's class order (NaN where a row was not
    scored) and each row's reason for refusal, or None. A regression champion's batch has no
    classes and a number per row instead (`numbers`, NaN where a row was not scored)."""

    version: int
    classes: list
    probabilities: np.ndarray
    refused: np.ndarray
    reasons: dict[int, str]
    latency_ms: float
    numbers: np.ndarray | None = None
    interval: tuple[float, float] | None = None  # a calibrated regression's (half width, level)

    @property
    def regression(self) -> bool:
        return self.numbers is not None

    def value_columns(self) -> list[np.ndarray]:
        """The answer's number columns: a probability per class, or the predicted number (and
        its interval's bounds when the champion has a calibration)."""
        if not self.regression:
            return list(self.probabilities.T)
        if self.interval is None:
            return [self.numbers]
        half = self.interval[0]
        return [self.numbers, self.numbers - half, self.numbers + half]

    @property
    def scored(self) -> np.ndarray:
        return ~self.refused

    def error_text(self) -> pa.Array:
        """Each row's reason for refusal, null where it was scored."""
        if not self.reasons:
            return pa.nulls(len(self.refused), pa.string())
        errors = np.full(len(self.refused), None, dtype=object)
        errors[list(self.reasons)] = list(self.reasons.values())
        return pa.array(errors, pa.string())

    def predicted(self) -> np.ndarray:
        """Each row's class index (the first of equally likely classes, as numpy's argmax)."""
        return np.argmax(np.nan_to_num(self.probabilities, nan=-1.0), axis=1)


def score_checked(
    model: ServedModel, config: DatasetConfig, checked: CheckedFeatures
) -> ScoredRows:
    """Score the rows of `checked` that passed their checks; the others keep their reason."""
    started = time.perf_counter()
    refused, reasons = checked.refused.copy(), dict(checked.reasons)
    valid = ~refused
    if model.regression:
        proba, numbers, score = (
            np.empty((checked.rows, 0)),
            np.full(checked.rows, np.nan),
            frame_numbers,
        )
    else:
        proba, numbers, score = (
            np.full((checked.rows, len(model.classes)), np.nan),
            None,
            frame_proba,
        )
    if model.fast is not None:
        fast_rows = np.flatnonzero(valid & ~checked.missing)
        if fast_rows.size and numbers is not None:
            numbers[fast_rows] = model.fast.values_columns(checked.values, fast_rows)
            _refuse_infinite(model, numbers, fast_rows, (refused, reasons))
        elif fast_rows.size:
            positive = model.fast.positive_proba_columns(checked.values, fast_rows)
            proba[fast_rows, 0], proba[fast_rows, 1] = 1.0 - positive, positive
        pipeline_rows = np.flatnonzero(valid & checked.missing)
    else:
        pipeline_rows = np.flatnonzero(valid)
    answers = proba if numbers is None else numbers
    if pipeline_rows.size:
        _pipeline_rows(model, config, checked, pipeline_rows, answers, (refused, reasons), score)
    latency_ms = (time.perf_counter() - started) * 1000
    classes = [] if model.regression else list(model.classes)
    calibration = model.calibration if model.regression else None
    interval = None if calibration is None else (calibration.half_width, calibration.level)
    return ScoredRows(
        model.version, classes, proba, refused, reasons, latency_ms, numbers, interval
    )


def _refuse_infinite(model, numbers: np.ndarray, rows: np.ndarray, errors) -> None:
    """A fast-scored number beyond float64's range is refused, as the pipeline refuses it."""
    refused, reasons = errors
    for row in rows[~np.isfinite(numbers[rows])]:
        refused[row] = True
        reasons[int(row)] = f"model v{model.version} gives no finite prediction for this row"
        numbers[row] = np.nan


def _pipeline_rows(model, config, checked, rows: np.ndarray, answers, errors, score) -> None:
    """Score `rows` into `answers` with `score` (probabilities or numbers), halving on refusal."""
    try:
        answers[rows] = score(model, config, feature_frame(config, checked, rows))
    except UnscorableRows as error:
        if rows.size == 1:
            refused, reasons = errors
            refused[rows[0]] = True
            reasons[int(rows[0])] = str(error)[:ERROR_CHARS]
            return
        half = rows.size // 2
        for part in (rows[:half], rows[half:]):
            _pipeline_rows(model, config, checked, part, answers, errors, score)


def feature_frame(config: DatasetConfig, checked: CheckedFeatures, rows: np.ndarray):
    """The features of `rows` as the pipeline takes them: booleans as 0/1, missing as NaN/None."""
    columns = {}
    for feature in config.features:
        values = checked.values[feature.name]
        if isinstance(values, np.ndarray):
            columns[feature.name] = values[rows]
        else:
            columns[feature.name] = values.take(pa.array(rows)).to_numpy(zero_copy_only=False)
    return pd.DataFrame(columns)


def prediction_ids(count: int) -> pa.Array:
    """`count` random 128-bit ids as 32 hex characters, made in one call."""
    text = os.urandom(16 * count).hex().encode()
    offsets = np.arange(0, 32 * count + 1, 32, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(text)]
    )
