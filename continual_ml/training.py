"""Training a candidate: the scikit-learn pipeline, the window split and the model's bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from continual_ml.config import DatasetConfig


def build_pipeline(config: DatasetConfig) -> Pipeline:
    """Preprocessing and estimator in one pipeline, so the served model needs nothing else."""
    settings = config.model
    preprocess = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                config.numeric_features,
            ),
            (
                "categorical",
                OneHotEncoder(
                    categories=[
                        list(f.categories) for f in config.features if f.kind == "categorical"
                    ],
                    handle_unknown="ignore",
                ),
                config.categorical_features,
            ),
        ]
    )
    if settings.family == "logistic_regression":
        estimator = LogisticRegression(max_iter=1000, random_state=settings.random_state)
    else:
        estimator = HistGradientBoostingClassifier(random_state=settings.random_state)
    return Pipeline([("preprocess", preprocess), ("classifier", estimator)])


@dataclass(frozen=True)
class WindowSplit:
    train: pd.DataFrame
    holdout: pd.DataFrame


def split_window(rows: pd.DataFrame, holdout_fraction: float) -> WindowSplit:
    """Hold out the newest rows of the window's last partition; train on everything earlier.

    The holdout is the latest data either model could face, and neither has seen it.
    """
    rows = rows.sort_values(["event_time", "row_id"], kind="stable").reset_index(drop=True)
    last = rows[rows["partition_date"] == rows["partition_date"].max()]
    n_holdout = max(1, int(round(len(last) * holdout_fraction)))
    cut = len(rows) - n_holdout
    return WindowSplit(train=rows.iloc[:cut], holdout=rows.iloc[cut:])


def fit_candidate(config: DatasetConfig, train: pd.DataFrame) -> Pipeline:
    labelled = train[train[config.label].notna()]
    model = build_pipeline(config)
    model.fit(labelled[config.feature_names], labelled[config.label].astype(int))
    return model


def serialize_model(model: Pipeline) -> tuple[bytes, str]:
    """The model as skops bytes (no arbitrary pickle) and their sha256."""
    artifact = skops.io.dumps(model)
    return artifact, hashlib.sha256(artifact).hexdigest()


def load_model(artifact: bytes, expected_sha256: str) -> Pipeline:
    """Load our own serialized model, refusing bytes whose hash is not the registered one."""
    actual = hashlib.sha256(artifact).hexdigest()
    if actual != expected_sha256:
        raise ValueError(f"model artifact hash {actual[:12]} != registered {expected_sha256[:12]}")
    return skops.io.loads(artifact, trusted=own_types(artifact))


def own_types(artifact: bytes) -> list[str]:
    """The non-default types in a skops file we wrote ourselves (the caller checked its hash)."""
    return skops.io.get_untrusted_types(data=artifact)
