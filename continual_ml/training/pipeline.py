"""Training a candidate: the scikit-learn pipeline, the window split and the model's bytes."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.training import regressors
from continual_ml.training.class_probabilities import training_labels

# scikit-learn is imported where a model is built: every run process loads this module.
if TYPE_CHECKING:
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.pipeline import Pipeline


def build_pipeline(config: DatasetConfig) -> Pipeline:
    """Preprocessing and estimator in one pipeline, so the served model needs nothing else."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    categorical = [f for f in config.features if f.kind == "categorical"]
    # A boolean is a 0/1 number to every family; its missing values take the median like any.
    numeric = [f.name for f in config.features if f.kind in ("numeric", "boolean")]
    native = _native_categories(config)
    categories = [list(f.categories) for f in categorical]
    if native:
        # Codes, split natively by the trees; a category the config does not list becomes
        # missing, as one-hot's `handle_unknown="ignore"` makes it all zeros.
        encoder = OrdinalEncoder(
            categories=categories, handle_unknown="use_encoded_value", unknown_value=np.nan
        )
    else:
        # Dense for the families that refuse sparse input (hist gradient boosting, when some
        # feature has too many categories for native splits).
        sparse = config.model.family != "hist_gradient_boosting"
        encoder = OneHotEncoder(
            categories=categories, handle_unknown="ignore", sparse_output=sparse
        )
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(SimpleImputer(strategy="most_frequent"), encoder),
                [f.name for f in categorical],
            ),
        ]
    )
    classifier = build_estimator(config)
    if native and categorical:
        # ColumnTransformer puts the numeric columns first, the categorical codes after them.
        codes = range(len(numeric), len(numeric) + len(categorical))
        classifier.set_params(categorical_features=list(codes))
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def _native_categories(config: DatasetConfig) -> bool:
    """Whether the family splits on category codes itself: gradient boosting, within its bins."""
    return config.model.family == "hist_gradient_boosting" and all(
        len(f.categories) < NATIVE_CATEGORY_LIMIT for f in config.features
    )


# HistGradientBoostingClassifier bins each feature in at most 255 bins, one kept for missing.
NATIVE_CATEGORY_LIMIT = 255


def build_estimator(config: DatasetConfig):
    """The classifier, or for `task: regression` the regressor, of `config.model.family`,
    seeded by `config.model.random_state`; the linear family of a regression is a ridge.

    >>> config = DatasetConfig(
    ...     name="d", task="regression", features=[{"name": "x", "kind": "numeric"}]
    ... )
    >>> type(build_estimator(config)).__name__
    'Ridge'
    """
    family, seed, regression = config.model.family, config.model.random_state, config.regression
    from sklearn import ensemble
    from sklearn.linear_model import LogisticRegression, Ridge

    kind = "Regressor" if regression else "Classifier"
    if family == "logistic_regression":
        return (
            Ridge(alpha=1.0) if regression else LogisticRegression(max_iter=1000, random_state=seed)
        )
    if family == "random_forest":
        # n_jobs=1: training shares two cores with the service, and the bytes stay reproducible.
        forest = getattr(ensemble, f"RandomForest{kind}")
        return forest(n_estimators=200, min_samples_leaf=5, random_state=seed, n_jobs=1)
    if family == "hist_gradient_boosting":
        return getattr(ensemble, f"HistGradientBoosting{kind}")(random_state=seed)
    try:
        import lightgbm
    except ImportError as error:
        raise ValueError("model.family lightgbm needs the optional `lightgbm` package") from error
    return getattr(lightgbm, f"LGBM{kind}")(random_state=seed, n_jobs=1, verbose=-1)


SEARCH_SPACES = {
    "logistic_regression": {"classifier__C": [0.01, 0.1, 1.0, 10.0]},
    "random_forest": {
        "classifier__max_depth": [None, 8, 16],
        "classifier__min_samples_leaf": [1, 5, 20],
    },
    "hist_gradient_boosting": {
        "classifier__learning_rate": [0.03, 0.1, 0.3],
        "classifier__max_leaf_nodes": [15, 31, 63],
    },
    "lightgbm": {
        "classifier__learning_rate": [0.03, 0.1, 0.3],
        "classifier__num_leaves": [15, 31, 63],
    },
}


@dataclass(frozen=True)
class WindowSplit:
    train: pd.DataFrame
    holdout: pd.DataFrame


def split_window(
    rows: pd.DataFrame,
    holdout_fraction: float,
    min_rows: int = 0,
    unseen_from: date | None = None,
) -> WindowSplit:
    """Hold out the newest rows of the window's last partition; train on everything earlier.

    The holdout is the latest data either model could face, and neither has seen it. When that
    is fewer than `min_rows` (small days), it takes the newest rows of the recent partitions
    instead, up to `min_rows`, never more than half the window, and only from partitions on or
    after `unseen_from` (the day after the champion's training window), so the champion is
    never scored on rows it was trained on.
    """
    rows = rows.sort_values(["event_time", "row_id"], kind="stable").reset_index(drop=True)
    last = rows[rows["partition_date"] == rows["partition_date"].max()]
    n_holdout = max(1, int(round(len(last) * holdout_fraction)))
    if n_holdout < min_rows:
        days = pd.to_datetime(rows["partition_date"])
        unseen = (
            len(rows) if unseen_from is None else int((days >= pd.Timestamp(unseen_from)).sum())
        )
        n_holdout = max(n_holdout, min(min_rows, unseen, len(rows) // 2))
    cut = len(rows) - n_holdout
    return WindowSplit(train=rows.iloc[:cut], holdout=rows.iloc[cut:])


def fit_candidate(config: DatasetConfig, train: pd.DataFrame) -> Pipeline:
    """Fit on the labelled rows, tuning first with time-ordered CV when the config asks for it."""
    labelled = train[train[config.label].notna()].sort_values(["event_time", "row_id"])
    features = labelled[config.feature_names]
    label = labelled[config.label]
    labels = label.astype(float) if config.regression else training_labels(config, label)
    model = build_pipeline(config)
    if config.model.search:
        model.set_params(**tune(config, features, labels).best_params_)
    return model.fit(features, labels)


def tune(config: DatasetConfig, features: pd.DataFrame, labels: pd.Series) -> RandomizedSearchCV:
    """Randomized search whose folds each train on earlier rows and validate on later ones.

    The rows must be in event-time order: TimeSeriesSplit never puts a row from the future in
    a fold's training data.
    """
    from sklearn.model_selection import RandomizedSearchCV, TimeSeriesSplit

    spaces = SEARCH_SPACES
    if config.regression:
        spaces = {**spaces, "logistic_regression": regressors.LINEAR_SEARCH_SPACE}
    space = spaces[config.model.family]
    n_candidates = 1
    for values in space.values():
        n_candidates *= len(values)
    search = RandomizedSearchCV(
        build_pipeline(config),
        space,
        n_iter=min(config.model.search_iterations, n_candidates),
        cv=TimeSeriesSplit(n_splits=config.model.cv_splits),
        scoring=regressors.search_scoring(config) if config.regression else "neg_log_loss",
        random_state=config.model.random_state,
        n_jobs=1,
    )
    return search.fit(features, labels)


def data_sha256(rows: pd.DataFrame) -> str:
    """A fingerprint of the training rows, so two runs can tell they saw the same data."""
    hashed = pd.util.hash_pandas_object(rows.reset_index(drop=True), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def serialize_model(model: Pipeline) -> tuple[bytes, str]:
    """The model as skops bytes (no arbitrary pickle) and their sha256.

    The same model always gives the same bytes: see `_canonical`.
    """
    import skops.io  # imported on use: it takes ~2 s, and most processes never need it

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
    import skops.io

    return skops.io.loads(artifact, trusted=own_types(artifact))


def own_types(artifact: bytes) -> list[str]:
    """The non-default types in a skops file, refused unless our training produces them all."""
    import skops.io

    from continual_ml.models.trust import allowed_types

    return allowed_types(skops.io.get_untrusted_types(data=artifact))
