"""A regressor's MAE and RMSE estimated before labels arrive: direct loss estimation.

A second model learns, on a labelled reference (the primary model's holdout, whose residuals
are out of sample), each row's expected absolute and squared error from its features and the
primary model's prediction. On a new batch the means of its answers are the expected MAE and
(the root of) the expected MSE. Like confidence-based estimation for classifiers
(`performance_estimation`), this follows covariate shift, the features moving into regions
where the model errs more or less, and cannot see concept drift, where ``p(y | x)`` itself
changes: once labels land, `estimate_reliability` compares estimate and realized.

Reliability rule: at fit, the reference is cross-fitted (each of 5 contiguous folds estimated
by a model fitted on the other four) and the MAE estimate's relative error is measured on 200
seeded random batches of the production batch size drawn from those held-out rows (their
sampling noise rescaled to a new batch's, see `_tolerance`). Its 95th percentile is the
`tolerance`: a labelled day whose estimate is further off than that is
beyond what the estimator showed on held-out reference rows. Under the reference's behaviour
about 1 day in 20 is beyond by chance, so the estimate is called unreliable only when the count
of days beyond is improbable for that rate (binomial, one-sided p below 0.01).

scikit-learn is imported inside the functions that fit or predict, as in `training.pipeline`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

REFERENCE_FOLDS = 5
REFERENCE_BATCHES = 200
TOLERANCE_QUANTILE = 0.95
UNRELIABLE_P_VALUE = 0.01
# Native categorical splits bin each category; more than this and a column is left out.
MAX_CATEGORIES = 250


@dataclass
class LossEstimator:
    """The fitted error models, the columns and categories they expect, and the tolerance."""

    absolute_error_model: object
    squared_error_model: object
    numeric: list[str]
    categories: dict[str, list]
    tolerance: float  # the relative error of a batch's MAE estimate called ordinary
    reference_mae: float
    # the cross-fitted estimates and the actual absolute errors of the reference rows
    reference_estimates: np.ndarray | None = None
    reference_errors: np.ndarray | None = None
    seed: int = 0

    def tolerance_for(self, rows: int) -> float:
        """`tolerance` for a batch of `rows` rows (a day only partly labelled yet)."""
        if self.reference_estimates is None or rows <= 0:
            return self.tolerance
        return _tolerance(self.reference_estimates, self.reference_errors, rows, self.seed)


@dataclass(frozen=True)
class LossEstimate:
    rows: int
    mae: float | None
    rmse: float | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EstimateCheck:
    """A labelled batch's estimated and realized MAE, and whether the gap is ordinary."""

    rows: int
    estimated_mae: float
    realized_mae: float
    estimated_rmse: float
    realized_rmse: float
    relative_error: float  # |estimated - realized| MAE over realized MAE
    within_tolerance: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EstimateReliability:
    days: int
    mean_absolute_error_mae: float | None  # mean over days of |estimated - realized| MAE
    mean_absolute_error_rmse: float | None
    days_beyond_tolerance: int
    tolerance: float
    reliable: bool | None  # None with no labelled day yet

    def to_dict(self) -> dict:
        return asdict(self)


def fit_loss_estimator(
    features: pd.DataFrame, predicted, truth, batch_rows: int = 200, seed: int = 0
) -> LossEstimator:
    """Error models fitted on a labelled reference; `batch_rows` is the size of the batches
    (days) the estimate will be asked about, for the tolerance."""
    predicted, truth = np.asarray(predicted, dtype=float), np.asarray(truth, dtype=float)
    known = ~(np.isnan(truth) | np.isnan(predicted))
    if known.sum() < 2 * REFERENCE_FOLDS * 10:
        raise ValueError(
            f"loss estimation needs at least {2 * REFERENCE_FOLDS * 10} reference rows with "
            f"an actual and a prediction, got {int(known.sum())}"
        )
    features = features.reset_index(drop=True)[known]
    predicted, truth = predicted[known], truth[known]
    numeric, categories = _columns(features)
    inputs = _inputs(features, predicted, numeric, categories)
    absolute = np.abs(truth - predicted)
    held_out = np.empty(len(absolute))
    for fold in np.array_split(np.arange(len(absolute)), REFERENCE_FOLDS):
        train = np.setdiff1d(np.arange(len(absolute)), fold)
        model = _error_model(seed).fit(inputs.iloc[train], absolute[train])
        held_out[fold] = model.predict(inputs.iloc[fold])
    return LossEstimator(
        absolute_error_model=_error_model(seed).fit(inputs, absolute),
        squared_error_model=_error_model(seed).fit(inputs, absolute**2),
        numeric=numeric,
        categories=categories,
        tolerance=_tolerance(held_out, absolute, batch_rows, seed),
        reference_mae=float(absolute.mean()),
        reference_estimates=held_out,
        reference_errors=absolute,
        seed=seed,
    )


def estimate_loss(estimator: LossEstimator, features: pd.DataFrame, predicted) -> LossEstimate:
    """Expected MAE and RMSE of a batch from its features and the model's predictions."""
    predicted = np.asarray(predicted, dtype=float)
    if len(predicted) == 0:
        return LossEstimate(0, None, None)
    inputs = _inputs(
        features.reset_index(drop=True), predicted, estimator.numeric, estimator.categories
    )
    absolute = np.clip(estimator.absolute_error_model.predict(inputs), 0, None)
    squared = np.clip(estimator.squared_error_model.predict(inputs), 0, None)
    return LossEstimate(len(predicted), float(absolute.mean()), float(math.sqrt(squared.mean())))


def expected_absolute_errors(
    estimator: LossEstimator, features: pd.DataFrame, predicted
) -> np.ndarray:
    """Each row's expected absolute error, never below 1% of the reference MAE: usable as the
    `scale` of normalized conformal intervals (`training.conformal`) when the estimator was
    fitted on rows other than the calibration rows."""
    inputs = _inputs(
        features.reset_index(drop=True),
        np.asarray(predicted, dtype=float),
        estimator.numeric,
        estimator.categories,
    )
    floor = max(0.01 * estimator.reference_mae, 1e-12)
    return np.clip(estimator.absolute_error_model.predict(inputs), floor, None)


def realized_loss(truth, predicted) -> LossEstimate:
    """MAE and RMSE on the rows whose truth is known."""
    truth, predicted = np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float)
    known = ~np.isnan(truth)
    if not known.any():
        return LossEstimate(0, None, None)
    errors = truth[known] - predicted[known]
    return LossEstimate(
        int(known.sum()), float(np.abs(errors).mean()), float(np.sqrt(np.mean(errors**2)))
    )


def check_estimate(
    estimate: LossEstimate, realized: LossEstimate, tolerance: float
) -> EstimateCheck:
    """One labelled batch: the estimate's error against realized, within `tolerance` or not."""
    if estimate.mae is None or realized.mae is None:
        raise ValueError("both the estimate and the realized loss need at least one row")
    relative = abs(estimate.mae - realized.mae) / max(realized.mae, 1e-12)
    return EstimateCheck(
        realized.rows,
        estimate.mae,
        realized.mae,
        estimate.rmse,
        realized.rmse,
        float(relative),
        bool(relative <= tolerance),
    )


def estimate_reliability(checks: list[EstimateCheck], tolerance: float) -> EstimateReliability:
    """Over labelled days: the estimate's mean absolute error, and whether the count of days
    beyond `tolerance` is ordinary for a 5% rate (see the module's docstring)."""
    from scipy.stats import binom

    if not checks:
        return EstimateReliability(0, None, None, 0, tolerance, None)
    beyond = sum(not c.within_tolerance for c in checks)
    # P(at least `beyond` of len(checks) days beyond) when each is beyond with probability 5%
    p_value = float(binom.sf(beyond - 1, len(checks), 1 - TOLERANCE_QUANTILE))
    return EstimateReliability(
        len(checks),
        float(np.mean([abs(c.estimated_mae - c.realized_mae) for c in checks])),
        float(np.mean([abs(c.estimated_rmse - c.realized_rmse) for c in checks])),
        beyond,
        tolerance,
        p_value >= UNRELIABLE_P_VALUE,
    )


def _tolerance(estimated, absolute, batch_rows: int, seed: int) -> float:
    """The 95th percentile of the relative error of a batch's MAE estimate, over batches drawn
    from the cross-fitted reference rows.

    A batch's gap (estimated - realized) is the estimator's bias, the reference-wide gap, plus
    sampling noise. Batches drawn from a finite reference vary less than new ones (by
    sqrt(1 - m / n) for m of n rows), and a batch larger than half the reference is drawn at
    half; the noise is rescaled to what a new batch of `batch_rows` rows shows."""
    rng = np.random.default_rng(seed)
    n = len(absolute)
    drawn = max(1, min(batch_rows, n // 2))
    noise_scale = math.sqrt(drawn / batch_rows) / math.sqrt(1 - drawn / n)
    gap = estimated - absolute
    bias = gap.mean()
    errors = []
    for _ in range(REFERENCE_BATCHES):
        rows = rng.choice(n, size=drawn, replace=False)
        batch_gap = bias + (gap[rows].mean() - bias) * noise_scale
        errors.append(abs(batch_gap) / max(absolute[rows].mean(), 1e-12))
    return float(np.quantile(errors, TOLERANCE_QUANTILE))


def _error_model(seed: int):
    from sklearn.ensemble import HistGradientBoostingRegressor

    # Least squares: the conditional mean, whose average over a batch is the expected loss.
    # (Poisson loss, tried, averaged 7% low on new rows of the synthetic stream; negative
    # answers are clipped to 0 by the caller.)
    return HistGradientBoostingRegressor(
        loss="squared_error",
        max_iter=100,
        learning_rate=0.1,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        categorical_features="from_dtype",
        early_stopping=False,
        random_state=seed,
    )


def _columns(features: pd.DataFrame) -> tuple[list[str], dict[str, list]]:
    numeric = [
        c
        for c in features.columns
        if pd.api.types.is_numeric_dtype(features[c])
        and not pd.api.types.is_bool_dtype(features[c])
    ]
    categories = {}
    for column in features.columns.difference(numeric):
        values = sorted(features[column].dropna().astype(str).unique())
        if len(values) <= MAX_CATEGORIES:
            categories[column] = values
    return numeric, categories


def _inputs(features, predicted, numeric, categories) -> pd.DataFrame:
    """The error models' inputs: numeric columns as floats, categories as pandas categoricals
    of the reference's values (an unseen one becomes missing), and the prediction."""
    missing = [c for c in [*numeric, *categories] if c not in features.columns]
    if missing:
        raise ValueError(f"the batch lacks the reference's columns {missing}")
    inputs = features[numeric].astype(float)
    for column, values in categories.items():
        text = features[column].astype(str).where(features[column].notna())
        inputs[column] = pd.Categorical(text, categories=values)
    inputs["__prediction__"] = predicted
    return inputs
