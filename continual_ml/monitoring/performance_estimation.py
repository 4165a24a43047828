"""Estimated performance of a classifier before labels arrive, and realized after.

Confidence-based estimation: if the positive-class probability ``c`` of a row is calibrated,
the row's prediction is right with probability ``c`` when it predicts 1 and ``1 - c`` when it
predicts 0, so summing those over a batch gives the expected confusion matrix and from it the
expected accuracy, precision, recall and F1. The model's raw scores decide the predictions and
the ranking; a `Calibrator` fitted on a labelled reference (the model's holdout) turns them
into the probabilities ``c`` the expectations use.

This holds only under covariate shift: the features may move, but ``p(y | x)`` must stay what
the reference showed. Under concept drift the estimate keeps reporting the old performance,
which `reliability` detects once labels arrive by comparing it with the realized one.

Multiclass models (any classes but [0, 1]) use the same idea on each row's confidence, its
highest class probability: calibrated on the holdout against whether the most probable class was
right, its mean is the expected accuracy (`confidence_calibration`, `estimate_class_performance`).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import confusion_matrix, f1_score

from continual_ml.training.classification_metrics import as_binary_arrays, classification_report

#: The metrics both `estimate_performance` and `realized_performance` report.
ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


class Calibrator(BaseEstimator):
    """Isotonic map from a model's scores to probabilities of the class 1.

    Parameters
    ----------
    epsilon : calibrated probabilities are clipped to ``[epsilon, 1 - epsilon]``, so that no
        row is ever certain and expected counts stay strictly inside their bounds.

    Examples
    --------
    >>> calibrator = Calibrator().fit([0.1, 0.2, 0.8, 0.9], [0, 1, 0, 1])
    >>> calibrator.predict([0.2, 0.8, 0.95]).round(2).tolist()
    [0.5, 0.5, 1.0]
    """

    def __init__(self, epsilon: float = 1e-6):
        self.epsilon = epsilon

    def fit(self, proba, truth) -> Calibrator:
        truth, proba = as_binary_arrays(truth, proba)
        if len(truth) == 0:
            raise ValueError("cannot calibrate on zero rows")
        self.isotonic_ = IsotonicRegression(
            y_min=self.epsilon, y_max=1 - self.epsilon, out_of_bounds="clip"
        ).fit(proba, truth)
        return self

    def predict(self, proba) -> np.ndarray:
        calibrated = self.isotonic_.predict(np.asarray(proba, dtype=float))
        return np.clip(calibrated, self.epsilon, 1 - self.epsilon)


def fit_calibration(reference_proba, reference_truth) -> Calibrator:
    """A `Calibrator` fitted on a labelled reference, e.g. the model's holdout."""
    return Calibrator().fit(reference_proba, reference_truth)


def estimate_performance(
    proba, calibrator: Calibrator | None = None, threshold: float = 0.5
) -> dict:
    """Expected metrics of a batch from the model's probabilities alone.

    Parameters
    ----------
    proba : the model's probabilities of the class 1; a row is predicted 1 when
        ``proba >= threshold``.
    calibrator : maps `proba` to calibrated probabilities; without one, `proba` is trusted.
    threshold : the decision threshold the model serves with.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``, the expected
        ``confusion_matrix`` ``[[tn, fp], [fn, tp]]`` (floats) and ``n``. Precision is exact in
        expectation (its denominator is fixed by the predictions); recall, F1 and ROC-AUC are
        ratios of expectations, which the expectations of the ratios approach as ``n`` grows.
        A metric that the expected counts cannot define is ``nan``.

    Examples
    --------
    >>> estimate = estimate_performance([0.9, 0.2, 0.6, 0.4])
    >>> round(estimate["accuracy"], 3), round(estimate["precision"], 3)
    (0.725, 0.75)
    """
    scores = np.asarray(proba, dtype=float)
    # as_binary_arrays validates the probabilities; the zero labels only fill its other slot
    _, scores = as_binary_arrays(np.zeros_like(scores, dtype=int), scores)
    n = len(scores)
    if n == 0:
        nan_matrix = [[math.nan, math.nan], [math.nan, math.nan]]
        return {
            **dict.fromkeys(ESTIMATED_METRICS, math.nan),
            "confusion_matrix": nan_matrix,
            "n": 0,
        }
    positive = calibrator.predict(scores) if calibrator is not None else scores
    predicted = scores >= threshold
    tp = float(positive[predicted].sum())
    fp = float((1 - positive[predicted]).sum())
    fn = float(positive[~predicted].sum())
    tn = float((1 - positive[~predicted]).sum())
    return {
        "accuracy": (tp + tn) / n,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": expected_roc_auc(scores, positive),
        "confusion_matrix": [[tn, fp], [fn, tp]],
        "n": n,
    }


def expected_roc_auc(scores, positive) -> float:
    """ROC-AUC in expectation when row ``i`` is positive with probability ``positive[i]``.

    ROC-AUC is the share of (positive, negative) pairs of distinct rows that the scores order
    correctly, ties counting half. In expectation the pair ``(i, j)`` is such a pair with
    probability ``positive[i] * (1 - positive[j])``, so the estimate sums that weight over the
    correctly ordered pairs and divides by its sum over all pairs: analytic, deterministic and
    ``O(n log n)`` by accumulating negative weight along the sorted scores.

    Examples
    --------
    >>> round(expected_roc_auc([0.2, 0.9], [0.0, 1.0]), 6)
    1.0
    """
    scores = np.asarray(scores, dtype=float)
    positive = np.asarray(positive, dtype=float)
    negative = 1 - positive
    distinct, group = np.unique(scores, return_inverse=True)
    positive_per_score = np.bincount(group, weights=positive, minlength=len(distinct))
    negative_per_score = np.bincount(group, weights=negative, minlength=len(distinct))
    negative_below = np.cumsum(negative_per_score) - negative_per_score
    # A row tied with itself would count half in the sum over tied pairs; it is no pair at all.
    self_pairs = float(np.sum(positive * negative))
    ordered = float(np.sum(positive_per_score * (negative_below + 0.5 * negative_per_score)))
    all_pairs = float(positive.sum() * negative.sum()) - self_pairs
    return _ratio(ordered - 0.5 * self_pairs, all_pairs)


def realized_performance(proba, truth, threshold: float = 0.5) -> dict:
    """The metrics `estimate_performance` reports, computed from the labels that arrived."""
    report = classification_report(truth, proba, threshold=threshold)
    return {name: report[name] for name in (*ESTIMATED_METRICS, "confusion_matrix", "n")}


def estimation_error(estimated: dict, realized: dict) -> dict:
    """``|estimated - realized|`` of each metric in `ESTIMATED_METRICS` (``nan`` if either is)."""
    return {name: abs(estimated[name] - realized[name]) for name in ESTIMATED_METRICS}


def reliability(
    estimated: dict, realized: dict | None, tolerance: float = 0.02, z: float = 3.0
) -> dict:
    """Whether the calibration behind an estimate still holds, judged once labels arrive.

    The realized accuracy of ``n`` rows scatters around a valid estimate ``a`` with a standard
    error of at most ``sqrt(a (1 - a) / n)``, so a gap beyond ``z`` of those (and beyond
    `tolerance`, the smallest gap worth acting on) is evidence that ``p(y | x)`` moved away
    from the reference: concept drift, under which the estimate cannot be trusted.

    Returns
    -------
    dict
        ``unreliable`` (bool), ``reason`` (str), ``accuracy_gap`` (estimated minus realized)
        and ``allowed_gap``. Without `realized` (no labels yet) the estimate stands unchecked.
    """
    n = realized["n"] if realized is not None else 0  # None: no label has arrived yet
    accuracy = estimated["accuracy"]
    if n == 0 or math.isnan(accuracy):
        return {
            "unreliable": False,
            "reason": "no labelled rows to check the estimate against",
            "accuracy_gap": math.nan,
            "allowed_gap": math.nan,
        }
    gap = accuracy - realized["accuracy"]
    allowed = max(tolerance, z * math.sqrt(accuracy * (1 - accuracy) / n))
    unreliable = abs(gap) > allowed
    verdict = "beyond" if unreliable else "within"
    reason = (
        f"estimated accuracy {accuracy:.3f} vs realized {realized['accuracy']:.3f} on {n} rows: "
        f"gap {abs(gap):.3f} is {verdict} the allowed {allowed:.3f}"
    )
    if unreliable:
        reason += "; the calibration no longer holds (concept drift?)"
    return {"unreliable": unreliable, "reason": reason, "accuracy_gap": gap, "allowed_gap": allowed}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def confidence_calibration(probabilities, truth) -> Calibrator:
    """The multiclass `fit_calibration`: a `Calibrator` from each row's confidence (its highest
    class probability) to the chance that its most probable class is right.

    ``probabilities`` has a column per class, ``truth`` the index of each row's true class (a
    multiclass holdout stores both). With two classes this is the binary calibration folded
    around 0.5; with more, it is the natural generalisation of CBPE: a calibrated confidence is
    the probability that the prediction is correct, whatever the number of classes.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    correct = (probabilities.argmax(axis=1) == np.asarray(truth)).astype(int)
    return Calibrator().fit(probabilities.max(axis=1), correct)


def estimate_class_performance(probabilities, calibrator: Calibrator | None = None) -> dict:
    """Expected accuracy of a multiclass batch: the mean calibrated confidence.

    The per-class counts that precision, recall and AUC would need are not estimated; those
    entries are ``nan``, so the result has the keys of `estimate_performance`.

    Examples
    --------
    >>> estimate = estimate_class_performance([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
    >>> round(estimate["accuracy"], 3), estimate["n"]
    (0.55, 2)
    """
    probabilities = np.asarray(probabilities, dtype=float).reshape(len(probabilities), -1)
    confidence = probabilities.max(axis=1) if len(probabilities) else np.zeros(0)
    if calibrator is not None and len(confidence):
        confidence = calibrator.predict(confidence)
    accuracy = float(confidence.mean()) if len(confidence) else math.nan
    return {
        **dict.fromkeys(ESTIMATED_METRICS, math.nan),
        "accuracy": accuracy,
        "confusion_matrix": None,
        "n": len(confidence),
    }


def realized_class_performance(probabilities, truth) -> dict:
    """Accuracy and macro F1 of a multiclass batch from its labels (truth as class indices);
    the keys of `realized_performance`, with precision, recall and ROC-AUC left ``nan``."""
    probabilities = np.asarray(probabilities, dtype=float)
    truth = np.asarray(truth, dtype=int)
    predicted = probabilities.argmax(axis=1)
    columns = list(range(probabilities.shape[1]))
    return {
        **dict.fromkeys(ESTIMATED_METRICS, math.nan),
        "accuracy": float(np.mean(predicted == truth)) if len(truth) else math.nan,
        "f1": float(f1_score(truth, predicted, labels=columns, average="macro", zero_division=0)),
        "confusion_matrix": confusion_matrix(truth, predicted, labels=columns).tolist(),
        "n": len(truth),
    }
