"""How the champion is doing on a batch: prediction and label drift, realized and estimated
performance (CBPE), and whether the estimate can be trusted.

For a multiclass model the prediction drift is that of the predicted class's shares, and the
estimate is CBPE on each row's confidence (see `performance_estimation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.monitoring.class_calibration import CalibrationCheck, check_class_calibration
from continual_ml.monitoring.drift_engine import FeatureDrift, build_profile, check_drift
from continual_ml.monitoring.performance_estimation import (
    confidence_calibration,
    estimate_class_performance,
    estimate_performance,
    estimation_error,
    fit_calibration,
    realized_class_performance,
    realized_performance,
    reliability,
)
from continual_ml.training.class_probabilities import class_proba, stored_matrix


@dataclass(frozen=True)
class BatchMonitoring:
    n_rows: int
    n_labelled: int
    prediction_drift: FeatureDrift
    label_drift: FeatureDrift | None
    estimated: dict
    realized: dict | None
    error: dict | None
    reliability: dict

    def as_row(self) -> dict:
        return {
            "n_rows": self.n_rows,
            "n_labelled": self.n_labelled,
            "prediction_drift_score": self.prediction_drift.score,
            "prediction_drifted": self.prediction_drift.drifted,
            "label_drift_score": self.label_drift.score if self.label_drift else None,
            "label_drifted": self.label_drift.drifted if self.label_drift else None,
            "estimated_accuracy": self.estimated["accuracy"],
            "realized_accuracy": self.realized["accuracy"] if self.realized else None,
            "estimation_error": self.error["accuracy"] if self.error else None,
            "estimate_unreliable": bool(self.reliability["unreliable"]),
            "reliability_reason": self.reliability["reason"],
        }


def monitor_batch(
    config: DatasetConfig,
    model,
    calibration: pd.DataFrame,
    reference: pd.DataFrame,
    current: pd.DataFrame,
) -> BatchMonitoring:
    """Score the batch with the champion and compare it with the champion's reference window.

    `calibration` holds the champion's own holdout (`truth`, `candidate_proba`), on which the
    probability calibration for the estimate is fitted.
    """
    if not config.binary:
        return _monitor_classes(config, model, calibration, reference, current)
    features = config.feature_names
    reference_scores = model.predict_proba(reference[features])[:, 1]
    current_scores = model.predict_proba(current[features])[:, 1]
    label = config.label
    profile = build_profile(
        pd.DataFrame({"score": reference_scores, "label": reference[label].astype("string")}),
        numeric_features=["score"],
        categorical_features=["label"],
    )
    labelled = current[label].notna().to_numpy()
    drift = check_drift(
        profile,
        pd.DataFrame({"score": current_scores, "label": current[label].astype("string")}),
    )
    by_name = {f.feature: f for f in drift.features}
    calibrator = champion_calibration(config, calibration)
    estimated = estimate_performance(current_scores, calibrator)
    realized = error = None
    if labelled.any():
        truth = current.loc[labelled, label].astype(int).to_numpy()
        realized = realized_performance(current_scores[labelled], truth)
        error = estimation_error(estimated, realized)
    return _batch(current, labelled, by_name, estimated, realized, error)


def _batch(
    current, labelled, by_name, estimated, realized, error, calibration=None
) -> BatchMonitoring:
    """What one batch's monitoring found, binary or multiclass alike; a multiclass estimate
    is also unreliable when its calibration is poor (`class_calibration`), labels or not."""
    verdict = reliability(estimated, realized)
    if calibration is not None:
        verdict = {
            **verdict,
            "unreliable": bool(verdict["unreliable"] or calibration.poor),
            "reason": f"{calibration.reason}; {verdict['reason']}",
        }
    return BatchMonitoring(
        n_rows=len(current),
        n_labelled=int(labelled.sum()),
        prediction_drift=by_name["score"],
        label_drift=by_name["label"] if labelled.any() else None,
        estimated=estimated,
        realized=realized,
        error=error,
        reliability=verdict,
    )


def _monitor_classes(config, model, calibration, reference, current) -> BatchMonitoring:
    """`monitor_batch` for a multiclass model: the predicted class's shares drift (a
    categorical test), and the estimate is the mean calibrated confidence."""
    label, classes = config.label, list(config.classes)
    reference_proba = class_proba(model, config, reference)
    current_proba = class_proba(model, config, current)

    def predicted(proba):
        return pd.Series([str(classes[i]) for i in proba.argmax(axis=1)], dtype="string")

    profile = build_profile(
        pd.DataFrame(
            {"score": predicted(reference_proba), "label": reference[label].astype("string")}
        ),
        numeric_features=[],
        categorical_features=["score", "label"],
    )
    drift = check_drift(
        profile,
        pd.DataFrame({"score": predicted(current_proba), "label": current[label].astype("string")}),
    )
    by_name = {f.feature: f for f in drift.features}
    estimated = estimate_class_performance(current_proba, champion_calibration(config, calibration))
    labelled = current[label].notna().to_numpy()
    realized = error = None
    if labelled.any():
        index_of = {c: i for i, c in enumerate(classes)}
        truth = [index_of[value] for value in current.loc[labelled, label]]
        realized = realized_class_performance(current_proba[labelled], truth)
        error = estimation_error(estimated, realized)
    check = calibration_check(config, calibration)
    return _batch(current, labelled, by_name, estimated, realized, error, check)


def champion_calibration(config: DatasetConfig, holdout: pd.DataFrame):
    """The calibration of a model's estimate, fitted on its own holdout predictions."""
    if config.binary:
        return fit_calibration(holdout["candidate_proba"], holdout["truth"])
    probabilities = stored_matrix(holdout["candidate_probabilities"], len(config.classes))
    return confidence_calibration(probabilities, holdout["truth"].to_numpy())


_CHECKS: dict[tuple, CalibrationCheck] = {}


def calibration_check(config: DatasetConfig, holdout: pd.DataFrame) -> CalibrationCheck:
    """`check_class_calibration` of a multiclass model's holdout, once per holdout (a second
    of bootstrap, the same for every batch the model is monitored on)."""
    truth = holdout["truth"].to_numpy(dtype=int)
    key = (tuple(holdout["candidate_version"].unique()), len(truth), truth.tobytes())
    if key not in _CHECKS:
        probabilities = stored_matrix(holdout["candidate_probabilities"], len(config.classes))
        if len(_CHECKS) > 16:
            _CHECKS.clear()
        _CHECKS[key] = check_class_calibration(probabilities, truth)
    return _CHECKS[key]


def estimated_accuracy(config: DatasetConfig, model, holdout: pd.DataFrame, rows) -> float:
    """The model's CBPE-estimated accuracy on `rows`, calibrated on its holdout."""
    calibrator = champion_calibration(config, holdout)
    if config.binary:
        scores = model.predict_proba(rows[config.feature_names])[:, 1]
        return estimate_performance(scores, calibrator)["accuracy"]
    return estimate_class_performance(class_proba(model, config, rows), calibrator)["accuracy"]
