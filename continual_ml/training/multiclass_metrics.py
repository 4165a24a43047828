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
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    roc_auc_score,
)

#: The scalar entries of a multiclass report, in the order a table should show them.
MULTICLASS_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "roc_auc_ovr",
    "log_loss",
    "brier",
)


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


def multiclass_report(truth, proba, classes: Sequence) -> dict:
    """Accuracy, macro-F1, one-vs-rest ROC AUC, log loss and Brier score of one model.

    ``roc_auc_ovr`` (macro one-vs-rest) needs every class present in ``truth`` and
    ``balanced_accuracy`` at least two; otherwise they are ``nan``. ``brier`` is the multiclass
    Brier score, the mean over rows of the squared distance to the one-hot truth (for two
    classes it is twice the binary score). ``confusion_matrix`` has rows of truth and columns of
    predictions, both in the order of ``classes``.

    Examples
    --------
    >>> report = multiclass_report(
    ...     ["a", "b", "c", "c"],
    ...     [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2]],
    ...     ["a", "b", "c"],
    ... )
    >>> report["accuracy"], report["confusion_matrix"]
    (0.75, [[1, 0, 0], [0, 1, 0], [1, 0, 1]])
    """
    indices, proba = as_class_indices(truth, proba, classes)
    columns = list(range(len(classes)))
    n = len(indices)
    if n == 0:
        empty = [[0] * len(columns) for _ in columns]
        undefined = dict.fromkeys(MULTICLASS_METRICS, float("nan"))
        return {**undefined, "confusion_matrix": empty, "n": 0}
    predicted = predicted_indices(proba)
    present = np.unique(indices)
    nan = float("nan")
    one_hot = np.eye(len(columns))[indices]
    report = {
        "accuracy": accuracy_score(indices, predicted),
        "balanced_accuracy": (
            balanced_accuracy_score(indices, predicted) if len(present) > 1 else nan
        ),
        "macro_f1": f1_score(indices, predicted, labels=columns, average="macro", zero_division=0),
        "roc_auc_ovr": (
            roc_auc_score(indices, proba, multi_class="ovr", average="macro", labels=columns)
            if len(present) == len(columns)
            else nan
        ),
        "log_loss": log_loss(indices, proba, labels=columns),
        "brier": np.mean(np.sum((proba - one_hot) ** 2, axis=1)),
    }
    return {
        **{name: float(value) for name, value in report.items()},
        "confusion_matrix": confusion_matrix(indices, predicted, labels=columns).tolist(),
        "n": n,
    }


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
