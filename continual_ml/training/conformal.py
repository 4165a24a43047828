"""Split-conformal prediction intervals for a regressor, calibrated on its holdout residuals.

On rows exchangeable with the calibration rows, ``predicted ± q`` holds the truth with
probability at least the nominal `level`, whatever the model, when ``q`` is the
``ceil((n + 1) * level)``-th smallest of the ``n`` absolute holdout residuals (the ``+ 1``
counts the new row among the ``n + 1`` exchangeable ones; Vovk et al. 2005, Lei et al. 2018).
The coverage, averaged over calibration sets, is then between `level` and
``level + 1 / (n + 1)``.

Normalized (locally weighted) intervals divide each residual by a per-row `scale`, an estimate
of how hard the row is (e.g. the expected absolute error from
`continual_ml.monitoring.loss_estimation`), and answer ``predicted ± q * scale``: the same
guarantee, narrower intervals on easy rows and wider on hard ones. The scale must have been
fitted on rows other than the calibration rows, or the residuals it saw look easier than new
ones and coverage falls short.

The guarantee is marginal and assumes exchangeability: under drift the measured coverage of
later days (`interval_coverage`) is the evidence of whether it still holds.

Examples
--------
>>> calibration = calibrate([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 4.5], level=0.5)
>>> calibration.half_width
0.5
>>> lower, upper = prediction_intervals(calibration, [10.0])
>>> lower.tolist(), upper.tolist()
([9.5], [10.5])
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_LEVEL = 0.9


@dataclass(frozen=True)
class ConformalCalibration:
    """What a served interval needs: the residual quantile and the level it was taken at."""

    level: float
    half_width: float  # in the target's units, or in units of `scale` when normalized
    calibration_rows: int
    normalized: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ConformalCalibration:
        return cls(**values)


@dataclass(frozen=True)
class IntervalCoverage:
    """How often intervals held the truth, on the rows that have one, and how wide they were."""

    level: float
    rows: int
    covered: int
    coverage: float | None  # None when no row has an actual yet
    mean_width: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def minimum_rows(level: float) -> int:
    """The fewest calibration rows that give a finite interval at `level`.

    >>> minimum_rows(0.9), minimum_rows(0.95)
    (9, 19)
    """
    _check_level(level)
    return math.ceil(level / (1 - level) - 1e-9)


def calibrate(truth, predicted, level: float = DEFAULT_LEVEL, scale=None) -> ConformalCalibration:
    """The conformal quantile of the holdout's absolute residuals (divided by `scale` if given).

    Rows whose truth or prediction is missing are left out. Raises `ValueError` when fewer than
    `minimum_rows(level)` rows remain: the interval would have to be infinite.
    """
    _check_level(level)
    scores, _ = _scores(truth, predicted, scale)
    n, needed = len(scores), minimum_rows(level)
    if n < needed:
        raise ValueError(
            f"conformal calibration at level {level} needs at least {needed} rows with an "
            f"actual and a prediction, got {n}"
        )
    rank = min(math.ceil((n + 1) * level), n)  # 1-based; n >= needed keeps it within n
    half_width = float(np.partition(scores, rank - 1)[rank - 1])
    return ConformalCalibration(level, half_width, n, normalized=scale is not None)


def prediction_intervals(
    calibration: ConformalCalibration, predicted, scale=None
) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper bounds around each prediction."""
    predicted = np.asarray(predicted, dtype=float)
    if calibration.normalized != (scale is not None):
        raise ValueError(
            "a normalized calibration needs the rows' scale, and a plain one takes none"
        )
    half = calibration.half_width * (_positive_scale(scale) if scale is not None else 1.0)
    return predicted - half, predicted + half


def interval_coverage(truth, lower, upper, level: float = DEFAULT_LEVEL) -> IntervalCoverage:
    """Empirical coverage and mean width on the rows whose truth is known (not NaN)."""
    truth = np.asarray(truth, dtype=float)
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if not truth.shape == lower.shape == upper.shape:
        raise ValueError(f"shapes differ: {truth.shape}, {lower.shape}, {upper.shape}")
    known = ~np.isnan(truth)
    rows = int(known.sum())
    if rows == 0:
        return IntervalCoverage(level, 0, 0, None, None)
    covered = int(((lower[known] <= truth[known]) & (truth[known] <= upper[known])).sum())
    width = float(np.mean(upper[known] - lower[known]))
    return IntervalCoverage(level, rows, covered, covered / rows, width)


def holdout_coverage(
    truth, predicted, level: float = DEFAULT_LEVEL, folds: int = 2
) -> IntervalCoverage:
    """Coverage measured on the holdout itself without reusing a row for its own interval.

    Rows are dealt into `folds` interleaved folds (row ``i`` to fold ``i % folds``, so each fold
    spans the holdout's whole period); each fold's intervals come from a calibration on the
    others, and the counts are pooled. Each calibration has fewer rows than the final one, so
    this reads slightly high rather than low.
    """
    truth, predicted = np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float)
    fold = np.arange(len(truth)) % folds
    covered = rows = 0
    widths = []
    for k in range(folds):
        calibration = calibrate(truth[fold != k], predicted[fold != k], level)
        lower, upper = prediction_intervals(calibration, predicted[fold == k])
        part = interval_coverage(truth[fold == k], lower, upper, level)
        covered, rows = covered + part.covered, rows + part.rows
        widths += [part.mean_width * part.rows] if part.rows else []
    if rows == 0:
        return IntervalCoverage(level, 0, 0, None, None)
    return IntervalCoverage(level, rows, covered, covered / rows, float(sum(widths) / rows))


def _scores(truth, predicted, scale) -> tuple[np.ndarray, np.ndarray]:
    truth, predicted = np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth has shape {truth.shape}, predictions {predicted.shape}")
    known = ~(np.isnan(truth) | np.isnan(predicted))
    residuals = np.abs(truth - predicted)
    if scale is not None:
        residuals = residuals / _positive_scale(scale)
    return residuals[known], known


def _positive_scale(scale) -> np.ndarray:
    scale = np.asarray(scale, dtype=float)
    if np.any(~np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError("every row's scale must be a finite positive number")
    return scale


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"the nominal level must be strictly between 0 and 1, got {level}")
