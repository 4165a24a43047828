"""How a regression champion is doing on a batch: drift of its numbers and of the target, its
realized error once labels land, the direct-loss estimate of that error before they do, and
the coverage of the interval it was served with.

What monitoring needs of a champion (its loss estimator and its conformal calibration, both
fitted on its own holdout) is built once per model by `regression_champion`; each batch is
then measured by `monitor_regression_batch`.

The policy's error (`policy_error`) is the gate's metric as a daily mean: the MAE for
``absolute_error``, the MSE for ``squared_error``, as `decisions.regression_policy` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.monitoring.drift_engine import FeatureDrift, build_profile, check_drift
from continual_ml.monitoring.loss_estimation import (
    EstimateCheck,
    LossEstimate,
    LossEstimator,
    check_estimate,
    estimate_loss,
    fit_loss_estimator,
    realized_loss,
)
from continual_ml.training.conformal import (
    DEFAULT_LEVEL,
    ConformalCalibration,
    IntervalCoverage,
    calibrate,
    interval_coverage,
    minimum_rows,
    prediction_intervals,
)
from continual_ml.training.regression_metrics import DAILY_ERRORS


@dataclass(frozen=True)
class RegressionChampion:
    """A regression champion as monitoring uses it."""

    version: int
    model: object
    estimator: LossEstimator | None  # None: too few holdout rows to fit one
    calibration: ConformalCalibration | None  # the served interval; None: too few rows
    note: str  # why the estimator or the interval is missing, else ""


def regression_champion(
    config: DatasetConfig,
    version: int,
    model,
    holdout: pd.DataFrame,
    batch_rows: int,
    calibration_rows: pd.DataFrame | None = None,
) -> RegressionChampion:
    """The champion's loss estimator and interval, from its holdout rows (the features,
    `truth` and its own `candidate_prediction`, out of sample); `batch_rows` is a day's size.
    The interval is calibrated on `calibration_rows` (`truth`, `candidate_prediction`) when
    given: the holdout exactly as the promotion calibrated what the service answers
    (`decisions.served_interval`), whatever rows the features could be found for."""
    truth, predicted = holdout["truth"].to_numpy(float), holdout["candidate_prediction"]
    notes, estimator, calibration = [], None, None
    try:
        estimator = fit_loss_estimator(
            holdout[config.feature_names], predicted, truth, max(batch_rows, 1)
        )
    except ValueError as error:  # too few holdout rows: said, not raised
        notes.append(f"no error estimate before labels: {error}")
    served = holdout if calibration_rows is None else calibration_rows
    if len(served) >= minimum_rows(DEFAULT_LEVEL):
        calibration = calibrate(served["truth"], served["candidate_prediction"].to_numpy(float))
    else:
        notes.append(f"no interval: {len(served)} holdout rows")
    return RegressionChampion(version, model, estimator, calibration, "; ".join(notes))


@dataclass(frozen=True)
class RegressionMonitoring:
    n_rows: int
    n_labelled: int
    error_metric: str  # "mae" or "mse"
    prediction_drift: FeatureDrift
    target_drift: FeatureDrift | None
    estimated: LossEstimate | None
    realized: LossEstimate | None
    realized_error_sd: float | None  # of the rows' losses, for the policy's significance
    check: EstimateCheck | None
    tolerance: float | None
    coverage: IntervalCoverage | None

    def policy_error(self, loss: LossEstimate | None) -> float | None:
        if loss is None or loss.mae is None:
            return None
        return loss.mae if self.error_metric == "mae" else loss.rmse**2

    def as_row(self) -> dict:
        """The `regression_performance` row."""
        drift = self.target_drift
        return {
            "n_rows": self.n_rows,
            "n_labelled": self.n_labelled,
            "error_metric": self.error_metric,
            "prediction_drift_score": _finite(self.prediction_drift.score),
            "prediction_drifted": self.prediction_drift.drifted,
            "target_drift_score": _finite(drift.score) if drift else None,
            "target_drifted": drift.drifted if drift else None,
            "estimated_mae": self.estimated.mae if self.estimated else None,
            "estimated_rmse": self.estimated.rmse if self.estimated else None,
            "realized_mae": self.realized.mae if self.realized else None,
            "realized_rmse": self.realized.rmse if self.realized else None,
            "realized_error_sd": self.realized_error_sd,
            "estimate_relative_error": self.check.relative_error if self.check else None,
            "estimate_tolerance": self.tolerance,
            "estimate_within_tolerance": self.check.within_tolerance if self.check else None,
            "interval_level": self.coverage.level if self.coverage else None,
            "interval_rows": self.coverage.rows if self.coverage else None,
            "interval_coverage": self.coverage.coverage if self.coverage else None,
            "interval_mean_width": self.coverage.mean_width if self.coverage else None,
        }


def monitor_regression_batch(
    config: DatasetConfig,
    champion: RegressionChampion,
    reference: pd.DataFrame,
    current: pd.DataFrame,
) -> RegressionMonitoring:
    """Score the batch with the champion and compare it with the champion's reference window;
    rows whose label has not landed are estimated, the labelled ones measured."""
    features, label = config.feature_names, config.label
    predicted = np.asarray(champion.model.predict(current[features]), dtype=float)
    reference_predicted = np.asarray(champion.model.predict(reference[features]), dtype=float)
    profile = build_profile(
        pd.DataFrame({"prediction": reference_predicted, "target": _numbers(reference[label])}),
        numeric_features=["prediction", "target"],
    )
    truth = _numbers(current[label])
    drift = check_drift(profile, pd.DataFrame({"prediction": predicted, "target": truth}))
    by_name = {f.feature: f for f in drift.features}
    labelled = ~np.isnan(truth)
    metric = DAILY_ERRORS[config.policy.gate_metric]
    estimated = realized = check = coverage = spread = tolerance = None
    if champion.estimator is not None:
        estimated = estimate_loss(champion.estimator, current[features], predicted)
    if labelled.any():
        realized = realized_loss(truth, predicted)
        losses = np.abs(truth[labelled] - predicted[labelled])
        losses = losses if metric == "mae" else losses**2
        spread = float(losses.std(ddof=1)) if labelled.sum() > 1 else None
        if estimated is not None and estimated.mae is not None:
            # the estimate of the labelled rows against their realized error: the same rows,
            # and the tolerance of a batch of that many
            rows = int(labelled.sum())
            tolerance = champion.estimator.tolerance_for(rows)
            of_labelled = estimate_loss(
                champion.estimator, current.loc[labelled, features], predicted[labelled]
            )
            check = check_estimate(of_labelled, realized, tolerance)
        if champion.calibration is not None:
            lower, upper = prediction_intervals(champion.calibration, predicted)
            coverage = interval_coverage(truth, lower, upper, champion.calibration.level)
    return RegressionMonitoring(
        n_rows=len(current),
        n_labelled=int(labelled.sum()),
        error_metric=metric,
        prediction_drift=by_name["prediction"],
        target_drift=by_name["target"] if labelled.any() else None,
        estimated=estimated,
        realized=realized,
        realized_error_sd=spread,
        check=check,
        tolerance=tolerance,
        coverage=coverage,
    )


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None
