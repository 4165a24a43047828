"""Multiclass classification metrics from a matrix of class probabilities, any class labels.

The binary metrics in `metrics` stay as they are (one positive-class probability per row); this
module is the multiclass counterpart: ``proba`` has one column per class, in the order of
``classes``, and ``truth`` holds the class labels themselves (strings or integers). As in
`metrics`, a metric that the sample cannot define is ``nan`` rather than an exception.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

#: The scalar entries of a multiclass report, in the order a table should show them.
MULTICLASS_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "roc_auc_ovr",
    "pr_auc_ovr",
    "log_loss",
    "brier",
    "ece_top_label",
)
#: The entries of each class in a report's ``per_class``.
PER_CLASS_METRICS = ("precision", "recall", "f1", "support")


def as_class_indices(truth, proba, classes: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Map labels to column indices of ``proba`` and validate the probability rows.

    Examples
    --------
    >>> truth, proba = as_class_indices(["low", "high"], [[0.7, 0.3], [0.1, 0.9]], ["low", "high"])
    >>> truth.tolist()
    [0, 1]
    """
    classes = list(classes)
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise ValueError(f"classes must be at least two distinct labels, got {classes!r}")
    proba = np.asarray(proba, dtype=float)
    labels = np.asarray(truth, dtype=object)
    if labels.ndim != 1 or proba.ndim != 2 or proba.shape != (len(labels), len(classes)):
        raise ValueError(
            f"need {len(classes)} probability columns for each of {len(labels)} labels, "
            f"got {proba.shape}"
        )
    index_of = {label: index for index, label in enumerate(classes)}
    unknown = sorted({str(label) for label in labels if label not in index_of})
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {classes!r}")
    if not (np.isfinite(proba).all() and (proba >= 0).all()):
        raise ValueError("proba must hold finite, non-negative class probabilities")
    if len(proba) and not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("each row of proba must sum to 1")
    indices = np.array([index_of[label] for label in labels], dtype=int)
    return indices, proba


def predicted_indices(proba: np.ndarray) -> np.ndarray:
    """The most probable class of each row; ties go to the earlier class, like ``argmax``."""
    return np.argmax(proba, axis=1)


def multiclass_report(truth, proba, classes: Sequence, n_bins: int = 10) -> dict:
    """Accuracy, macro and per-class scores, AUCs, log loss, Brier score and ECE of one model.

    Macro precision and recall average the classes that define them (a class never predicted
    has no precision); ``pr_auc_ovr`` is the macro one-vs-rest average precision over the
    classes present; ``roc_auc_ovr`` (macro one-vs-rest) needs every class present in
    ``truth`` and ``balanced_accuracy`` at least two. ``brier`` is the multiclass Brier score,
    the mean over rows of the squared distance to the one-hot truth (for two classes it is
    twice the binary score); ``ece_top_label`` is `top_label_ece`. ``confusion_matrix`` has
    rows of truth and columns of predictions, both in the order of ``classes``; ``per_class``
    has one entry per class (`PER_CLASS_METRICS`). A metric the sample cannot define is
    ``nan`` and ``undefined`` says why.

    Examples
    --------
    >>> report = multiclass_report(
    ...     ["a", "b", "c", "c"],
    ...     [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2]],
    ...     ["a", "b", "c"],
    ... )
    >>> report["accuracy"], report["confusion_matrix"]
    (0.75, [[1, 0, 0], [0, 1, 0], [1, 0, 1]])
    >>> report["per_class"][2]
    {'class': 'c', 'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666, 'support': 2}
    """
    indices, proba = as_class_indices(truth, proba, classes)
    classes = list(classes)
    columns = list(range(len(classes)))
    n = len(indices)
    nan = float("nan")
    if n == 0:
        undefined = dict.fromkeys(MULTICLASS_METRICS, nan)
        return {
            **undefined,
            "confusion_matrix": [[0] * len(columns) for _ in columns],
            "per_class": [
                {"class": label, **dict.fromkeys(PER_CLASS_METRICS[:3], nan), "support": 0}
                for label in classes
            ],
            "classes": classes,
            "n": 0,
            "undefined": dict.fromkeys(MULTICLASS_METRICS, "no rows to score"),
        }
    predicted = predicted_indices(proba)
    present = np.unique(indices)
    one_hot = np.eye(len(columns))[indices]
    precision, recall, _, _ = precision_recall_fscore_support(
        indices, predicted, labels=columns, average="macro", zero_division=np.nan
    )
    missing = [classes[c] for c in columns if c not in present]
    report = {
        "accuracy": accuracy_score(indices, predicted),
        "balanced_accuracy": (
            balanced_accuracy_score(indices, predicted) if len(present) > 1 else nan
        ),
        # nan-valued classes (never predicted, or absent) are left out of the averages
        "macro_precision": precision,
        "macro_recall": recall,
        "macro_f1": f1_score(indices, predicted, labels=columns, average="macro", zero_division=0),
        "roc_auc_ovr": (
            roc_auc_score(indices, proba, multi_class="ovr", average="macro", labels=columns)
            if not missing
            else nan
        ),
        "pr_auc_ovr": average_precision_score(
            one_hot[:, present], proba[:, present], average="macro"
        ),
        "log_loss": log_loss(indices, proba, labels=columns),
        "brier": np.mean(np.sum((proba - one_hot) ** 2, axis=1)),
        "ece_top_label": top_label_ece(indices, proba, n_bins),
    }
    undefined = {}
    if missing:
        undefined["roc_auc_ovr"] = f"needs every class in the sample; missing {missing}"
    if len(present) < 2:
        undefined["balanced_accuracy"] = "needs at least two classes in the sample"
    return {
        **{name: float(value) for name, value in report.items()},
        "confusion_matrix": confusion_matrix(indices, predicted, labels=columns).tolist(),
        "per_class": per_class_scores(indices, predicted, classes),
        "classes": classes,
        "n": n,
        "undefined": undefined,
    }


def per_class_scores(truth: np.ndarray, predicted: np.ndarray, classes: Sequence) -> list[dict]:
    """Precision, recall, F1 and support of each class (truth and predictions as indices).

    A class never predicted has no precision, a class absent from the sample no recall, and
    one neither present nor predicted no F1: those are ``nan``, with the reason in the class's
    own ``undefined`` entry.
    """
    columns = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=columns, average=None, zero_division=np.nan
    )
    scores = []
    for column, label in enumerate(classes):
        entry = {
            "class": label,
            "precision": float(precision[column]),
            "recall": float(recall[column]),
            "f1": float(f1[column]),
            "support": int(support[column]),
        }
        undefined = {}
        if np.isnan(entry["precision"]):
            undefined["precision"] = "no row was predicted as this class"
        if np.isnan(entry["recall"]):
            undefined["recall"] = "no row of this class in the sample"
        if np.isnan(entry["f1"]):
            undefined["f1"] = "the class was neither in the sample nor predicted"
        scores.append({**entry, "undefined": undefined} if undefined else entry)
    return scores


def top_label_ece(truth: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> float:
    """Top-label ("confidence") expected calibration error of a multiclass model.

    Rows are binned by their confidence, the highest class probability, into `n_bins`
    equal-width bins; ``ECE = sum_b (n_b / n) * |accuracy_b - mean confidence_b|``. It is
    what a confidence-based estimate of accuracy needs to hold: a model whose confidence is
    its chance of being right. ``truth`` holds column indices of ``proba``.

    Examples
    --------
    >>> round(top_label_ece(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]), n_bins=2), 6)
    0.35
    """
    if len(truth) == 0:
        return float("nan")
    confidence = proba.max(axis=1)
    correct = (predicted_indices(proba) == truth).astype(float)
    bins = np.minimum(np.floor(confidence * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    gaps = np.abs(
        np.bincount(bins, weights=correct, minlength=n_bins)
        - np.bincount(bins, weights=confidence, minlength=n_bins)
    )
    return float(gaps.sum() / counts.sum())


def row_scores(truth: np.ndarray, proba: np.ndarray, metric: str) -> np.ndarray:
    """Per-row values whose mean is the metric, larger is better: the gate's paired rows.

    ``truth`` holds column indices of ``proba`` (see `as_class_indices`).

    Accuracy is the correctness of the most probable class, so McNemar's test compares
    correct/incorrect per row whatever the number of classes; the Brier score is the multiclass
    one (squared distance to the one-hot truth).
    """
    rows = np.arange(len(truth))
    if metric == "accuracy":
        return (predicted_indices(proba) == truth).astype(float)
    if metric == "brier":
        one_hot = np.eye(proba.shape[1])[truth]
        return -np.sum((proba - one_hot) ** 2, axis=1)
    if metric == "log_loss":
        eps = np.finfo(float).eps
        return np.log(np.clip(proba[rows, truth], eps, 1 - eps))
    raise ValueError(f"unsupported gate metric {metric!r}")
