"""Binary classification metrics from predicted probabilities, overall and per slice.

Every metric that a sample cannot define (ROC-AUC with one class, precision with no predicted
positive, anything on zero rows) is ``nan`` rather than an exception, so a small or skewed
holdout degrades a report instead of failing the run that writes it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from continual_ml.training.slices import reports_by_slice

#: The scalar entries of a report, in the order a table should show them.
SCALAR_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
)
#: Metrics where a smaller value is the better model.
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece"})


def as_binary_arrays(truth, proba) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels in {0, 1} and positive-class probabilities in [0, 1] of equal length."""
    truth = np.asarray(truth)
    proba = np.asarray(proba, dtype=float)
    if truth.ndim != 1 or proba.ndim != 1 or len(truth) != len(proba):
        raise ValueError(f"need two 1-D arrays of equal length, got {truth.shape}, {proba.shape}")
    if not np.isin(truth, (0, 1)).all():
        raise ValueError("truth must hold only the labels 0 and 1")
    if not (np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()):
        raise ValueError("proba must hold probabilities of the positive class in [0, 1]")
    return truth.astype(int), proba


@dataclass(frozen=True)
class CalibrationBins:
    """Equal-width bins of the positive-class probability; empty bins are left out."""

    mean_predicted: np.ndarray
    observed_rate: np.ndarray
    counts: np.ndarray


def calibration_bins(truth, proba, n_bins: int = 10) -> CalibrationBins:
    """Group rows into `n_bins` equal-width bins of predicted probability.

    Bin ``b`` holds the rows with ``b / n_bins <= p < (b + 1) / n_bins``; ``p = 1`` falls in
    the last bin.
    """
    truth, proba = as_binary_arrays(truth, proba)
    bin_of_row = np.minimum(np.floor(proba * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bin_of_row, minlength=n_bins)
    predicted_sum = np.bincount(bin_of_row, weights=proba, minlength=n_bins)
    positive_sum = np.bincount(bin_of_row, weights=truth, minlength=n_bins)
    filled = counts > 0
    return CalibrationBins(
        mean_predicted=predicted_sum[filled] / counts[filled],
        observed_rate=positive_sum[filled] / counts[filled],
        counts=counts[filled],
    )


def expected_calibration_error(truth, proba, n_bins: int = 10) -> float:
    """ECE of the positive-class probability over equal-width bins.

    ``ECE = sum_b (n_b / n) * |observed_rate_b - mean_predicted_b|``, with the bins of
    `calibration_bins`. This is the binary (positive-class) reliability that the reliability
    diagram draws, not the top-label "confidence" ECE of multiclass papers, which folds
    probabilities around 0.5 and gives a different number.

    Examples
    --------
    >>> round(expected_calibration_error([0, 1, 1, 0], [0.2, 0.8, 0.6, 0.4], n_bins=2), 6)
    0.3
    """
    bins = calibration_bins(truth, proba, n_bins)
    n = bins.counts.sum()
    if n == 0:
        return float("nan")
    gaps = np.abs(bins.observed_rate - bins.mean_predicted)
    return float(np.sum(bins.counts * gaps) / n)


def classification_report(truth, proba, threshold: float = 0.5, n_bins: int = 10) -> dict:
    """Threshold, ranking and probability metrics of one binary classifier on one sample.

    Parameters
    ----------
    truth : array-like of 0/1 labels.
    proba : array-like of predicted probabilities of the class 1.
    threshold : a row is predicted 1 when ``proba >= threshold``.
    n_bins : equal-width bins for the expected calibration error.

    Returns
    -------
    dict
        The floats named in `SCALAR_METRICS`, ``confusion_matrix`` as ``[[tn, fp], [fn, tp]]``
        and ``n``. ROC-AUC and balanced accuracy need both classes, PR-AUC and recall need a
        positive, precision needs a predicted positive; otherwise they are ``nan``, and
        ``undefined`` maps each of them to the reason.
    """
    truth, proba = as_binary_arrays(truth, proba)
    n = len(truth)
    if n == 0:
        return {
            **dict.fromkeys(SCALAR_METRICS, float("nan")),
            "confusion_matrix": [[0, 0], [0, 0]],
            "n": 0,
            "undefined": dict.fromkeys(SCALAR_METRICS, "no rows to score"),
        }
    predicted = (proba >= threshold).astype(int)
    matrix = confusion_matrix(truth, predicted, labels=[0, 1]).tolist()
    both_classes = len(np.unique(truth)) == 2
    any_positive = bool(truth.any())
    nan = float("nan")
    report = {
        "accuracy": accuracy_score(truth, predicted),
        "balanced_accuracy": balanced_accuracy_score(truth, predicted) if both_classes else nan,
        # zero_division=nan: no predicted (or actual) positive leaves the ratio undefined
        "precision": precision_score(truth, predicted, zero_division=np.nan),
        "recall": recall_score(truth, predicted, zero_division=np.nan),
        "f1": f1_score(truth, predicted, zero_division=np.nan),
        "roc_auc": roc_auc_score(truth, proba) if both_classes else nan,
        "pr_auc": average_precision_score(truth, proba) if any_positive else nan,
        "log_loss": log_loss(truth, proba, labels=[0, 1]),
        "brier": brier_score_loss(truth, proba, pos_label=1),
        "ece": expected_calibration_error(truth, proba, n_bins),
    }
    return {
        **{name: float(value) for name, value in report.items()},
        "confusion_matrix": matrix,
        "n": n,
        "undefined": _why_undefined(truth, predicted),
    }


def _why_undefined(truth: np.ndarray, predicted: np.ndarray) -> dict[str, str]:
    """Why each metric `classification_report` leaves ``nan`` on this sample is undefined."""
    reasons = {}
    if len(np.unique(truth)) < 2:
        only = f"needs both classes in the sample; only {int(truth[0])} is present"
        reasons.update(balanced_accuracy=only, roc_auc=only)
    if not truth.any():
        reasons.update(recall="no positive row in the sample", pr_auc="no positive row")
    if not predicted.any():
        reasons["precision"] = "no row was predicted positive"
    if not truth.any() and not predicted.any():
        reasons["f1"] = "no positive row, and none predicted positive"
    return reasons


def per_slice(
    truth, proba, slices, threshold: float = 0.5, n_bins: int = 10
) -> dict[Hashable, dict]:
    """A `classification_report` for each value of a slicing column (e.g. ``segment``).

    Slices come in sorted order; rows with a missing slice value form the slice ``None``.
    """
    truth, proba = as_binary_arrays(truth, proba)

    def report(truth, proba):
        return classification_report(truth, proba, threshold, n_bins)

    return reports_by_slice(report, truth, proba, slices)
