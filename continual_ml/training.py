"""Training a candidate: the scikit-learn pipeline, the window split and the model's bytes."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
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
    """The model as skops bytes (no arbitrary pickle) and their sha256.

    The same model always gives the same bytes: see `_canonical`.
    """
    artifact = _canonical(skops.io.dumps(model))
    return artifact, hashlib.sha256(artifact).hexdigest()


_OBJECT_ID = re.compile(r'("__id__": |"file": ")(\d+)')


def _canonical(archive: bytes) -> bytes:
    """Rewrite a skops zip without what varies between identical models.

    skops names objects and array files by their memory address (`id()`) and stamps each zip
    entry with the time of writing; addresses are renumbered in order of appearance and the
    timestamps fixed, which keeps every reference consistent and the content unchanged.
    """
    source = zipfile.ZipFile(io.BytesIO(archive))
    schema = source.read("schema.json").decode()
    renumbered: dict[str, str] = {}
    for match in _OBJECT_ID.finditer(schema):
        renumbered.setdefault(match.group(2), str(len(renumbered)))
    schema = _OBJECT_ID.sub(lambda m: m.group(1) + renumbered[m.group(2)], schema)
    entries = {"schema.json": schema.encode()}
    for info in source.infolist():
        stem, dot, suffix = info.filename.partition(".")
        if info.filename != "schema.json":
            entries[f"{renumbered.get(stem, stem)}{dot}{suffix}"] = source.read(info.filename)
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as rewritten:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            rewritten.writestr(info, entries[name])
    return target.getvalue()


def load_model(artifact: bytes, expected_sha256: str) -> Pipeline:
    """Load our own serialized model, refusing bytes whose hash is not the registered one."""
    actual = hashlib.sha256(artifact).hexdigest()
    if actual != expected_sha256:
        raise ValueError(f"model artifact hash {actual[:12]} != registered {expected_sha256[:12]}")
    return skops.io.loads(artifact, trusted=own_types(artifact))


def own_types(artifact: bytes) -> list[str]:
    """The non-default types in a skops file we wrote ourselves (the caller checked its hash)."""
    return skops.io.get_untrusted_types(data=artifact)
