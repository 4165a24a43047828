"""A fitted pipeline's class probabilities in the order of the config's `classes`.

scikit-learn orders `classes_` by sorting the labels it saw (``high, low, medium``), and a class
missing from a training window has no column at all. Everything downstream of a multiclass
model (holdout rows, the gate, monitoring, the service) reads columns in the config's order, so
they are put in that order here, once, with a zero column for a class the model never saw.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig


def class_proba(model, config: DatasetConfig, rows: pd.DataFrame) -> np.ndarray:
    """One column per class of `config.classes`, each row summing to 1.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from continual_ml.config import DatasetConfig
    >>> config = DatasetConfig(
    ...     name="d", features=[{"name": "x", "kind": "numeric"}], classes=["low", "mid", "high"]
    ... )
    >>> rows = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    >>> model = DummyClassifier(strategy="prior").fit(rows, ["low", "high", "high", "high"])
    >>> class_proba(model, config, rows.head(1)).tolist()
    [[0.25, 0.0, 0.75]]
    """
    proba = np.asarray(model.predict_proba(rows[config.feature_names]), dtype=float)
    column_of = {_plain(label): index for index, label in enumerate(model.classes_)}
    ordered = np.zeros((len(proba), len(config.classes)))
    for index, label in enumerate(config.classes):
        if label in column_of:
            ordered[:, index] = proba[:, column_of[label]]
    return ordered


def training_labels(config: DatasetConfig, labels: pd.Series) -> pd.Series:
    """Labels as the model is fitted on them: integers, or text for text classes."""
    return labels.astype(str if isinstance(config.classes[0], str) else int)


def stored_matrix(json_rows, n_classes: int) -> np.ndarray:
    """Class probabilities stored one JSON list per row (a multiclass holdout) as a matrix."""
    return np.array([json.loads(row) for row in json_rows], dtype=float).reshape(-1, n_classes)


def _plain(label):
    """A numpy scalar as the Python value the config holds (np.int64(1) -> 1)."""
    return label.item() if isinstance(label, np.generic) else label
