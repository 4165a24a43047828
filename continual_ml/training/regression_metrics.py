"""Regression metrics from predictions and actuals, overall and per slice.

A metric the sample cannot define is ``nan`` with its reason in the report's ``undefined``
entry, as the classification reports do: R² of a constant actual, MAPE when some actual is
zero (a percentage of zero is no number), anything on zero rows.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from continual_ml.training.slices import reports_by_slice

#: The scalar entries of a report, in the order a table should show them.
SCALAR_METRICS = ("mae", "rmse", "r2", "mape")
#: All four: smaller is better except R².
LOWER_IS_BETTER = frozenset({"mae", "rmse", "mape"})
#: A regression gate's per-row loss, and the daily error monitoring and the policy read for it.
DAILY_ERRORS = {"absolute_error": "mae", "squared_error": "mse"}


def as_regression_arrays(truth, prediction) -> tuple[np.ndarray, np.ndarray]:
    """Two finite 1-D float arrays of equal length."""
    truth = np.asarray(truth, dtype=float)
    prediction = np.asarray(prediction, dtype=float)
    if truth.ndim != 1 or prediction.ndim != 1 or len(truth) != len(prediction):
        raise ValueError(
            f"need two 1-D arrays of equal length, got {truth.shape}, {prediction.shape}"
        )
    if not (np.isfinite(truth).all() and np.isfinite(prediction).all()):
        raise ValueError("actuals and predictions must be finite numbers")
    return truth, prediction


def regression_report(truth, prediction) -> dict:
    """MAE, RMSE, R² and MAPE (a fraction: 0.1 is 10 %), with ``n`` and ``undefined``.

    >>> report = regression_report([1.0, 2.0, 4.0], [1.5, 2.0, 3.0])
    >>> round(report["mae"], 4), round(report["rmse"], 4), round(report["mape"], 4)
    (0.5, 0.6455, 0.25)
    >>> regression_report([0.0, 2.0], [1.0, 2.0])["undefined"]
    {'mape': 'an actual is zero'}
    """
    truth, prediction = as_regression_arrays(truth, prediction)
    nan, undefined = float("nan"), {}
    n = len(truth)
    if n == 0:
        undefined = {name: "no rows" for name in SCALAR_METRICS}
        return {**dict.fromkeys(SCALAR_METRICS, nan), "n": 0, "undefined": undefined}
    error = prediction - truth
    spread = float(((truth - truth.mean()) ** 2).sum())
    if spread > 0:
        r2 = 1 - float((error**2).sum()) / spread
    else:
        r2, undefined["r2"] = nan, "the actuals are all equal"
    if (truth == 0).any():
        mape, undefined["mape"] = nan, "an actual is zero"
    else:
        mape = float(np.mean(np.abs(error) / np.abs(truth)))
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": r2,
        "mape": mape,
        "n": n,
        "undefined": undefined,
    }


def per_slice(truth, prediction, slices) -> dict[Hashable, dict]:
    """A `regression_report` for each value of a slicing column (e.g. ``segment``).

    Slices come in sorted order; rows with a missing slice value form the slice ``None``.

    >>> reports = per_slice([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], ["a", "b", None])
    >>> {k: r["mae"] for k, r in reports.items()}
    {'a': 0.0, 'b': 0.5, None: 0.0}
    """
    truth, prediction = as_regression_arrays(truth, prediction)
    return reports_by_slice(regression_report, truth, prediction, slices)


def row_errors(truth, prediction, metric: str) -> np.ndarray:
    """Per-row losses whose mean is the gate's metric: ``absolute_error`` or ``squared_error``.

    >>> row_errors([1.0, 2.0], [2.0, 4.0], "squared_error").tolist()
    [1.0, 4.0]
    """
    truth, prediction = as_regression_arrays(truth, prediction)
    if metric == "absolute_error":
        return np.abs(prediction - truth)
    if metric == "squared_error":
        return (prediction - truth) ** 2
    raise ValueError(f"unsupported regression gate metric {metric!r}")
