"""Scoring a regression candidate and the champion on one holdout: tables, per-row predictions
and plots, as `evaluation` does for classification."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.training.conformal import DEFAULT_LEVEL, holdout_coverage, minimum_rows
from continual_ml.training.holdout_rows import (
    RoleEvaluation,
    holdout_rows,
    role_outputs,
    role_scores,
)
from continual_ml.training.regression_metrics import SCALAR_METRICS, per_slice, regression_report
from continual_ml.training.regression_plots import predicted_vs_actual_png, residuals_png


@dataclass
class RegressionEvaluation(RoleEvaluation):
    """A regression model's evaluation; the per-row outputs are predicted numbers."""

    def plots(self) -> dict[str, bytes]:
        truth, candidate, champion = self.drawn("prediction")
        return {
            "predicted_vs_actual": predicted_vs_actual_png(truth, candidate, champion),
            "residuals": residuals_png(truth, candidate, champion),
        }


def predictions(model, config: DatasetConfig, rows: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(rows[config.feature_names]), dtype=float)


def _score_rows(role: str, version: int, truth, prediction, slices) -> list[dict]:
    reports = {"all": regression_report(truth, prediction)}
    if slices is not None:
        reports |= {str(v): r for v, r in per_slice(truth, prediction, slices).items()}
    return [
        {
            "role": role,
            "model_version": version,
            "slice": name,
            "n": report["n"],
            **{k: report[k] for k in SCALAR_METRICS},
        }
        for name, report in reports.items()
    ]


def evaluate_regression_on_holdout(
    config: DatasetConfig, holdout: pd.DataFrame, candidate: dict, champion: dict | None
) -> RegressionEvaluation:
    """Score both models (loaded only after their hashes check out) on the same rows."""
    truth = holdout[config.label].astype(float).to_numpy()
    slices = holdout[config.model.slice_column] if config.model.slice_column else None
    predicted = role_outputs(candidate, champion, lambda model: predictions(model, config, holdout))
    champion_report = regression_report(truth, predicted["champion"]) if champion else None
    rows = holdout_rows(holdout, truth, candidate, champion, predicted, "prediction")
    report = regression_report(truth, rows["candidate_prediction"])
    interval = interval_report(truth, rows["candidate_prediction"])
    undefined = {**report["undefined"], **interval.pop("undefined", {})}
    return RegressionEvaluation(
        scores=role_scores(_score_rows, predicted, candidate, champion, truth, slices),
        holdout=rows,
        candidate_report={**report, **interval, "undefined": undefined},
        champion_report=champion_report,
    )


def interval_report(truth, predicted) -> dict:
    """The conformal interval's coverage and mean width measured on the holdout it is calibrated
    on, without a row in its own calibration (`conformal.holdout_coverage`, 2 folds); NaN, with
    the reason, when a fold is too small to give a finite interval."""
    needed = 2 * minimum_rows(DEFAULT_LEVEL)
    if len(truth) < needed:
        why = f"fewer than {needed} holdout rows"
        nan = float("nan")
        undefined = {"interval_coverage": why, "interval_width": why}
        return {"interval_coverage": nan, "interval_width": nan, "undefined": undefined}
    measured = holdout_coverage(truth, predicted, DEFAULT_LEVEL)
    return {
        "interval_level": DEFAULT_LEVEL,
        "interval_coverage": float(measured.coverage),
        "interval_width": float(measured.mean_width),
    }
