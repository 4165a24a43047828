"""Conformal coverage and the loss estimate's error on the regression datasets, offline.

Not yet through the loop: a plain scikit-learn model (ridge, and histogram gradient boosting)
on each dataset of `benchmarks.learning.regression_datasets`, in two arms:

- ``static``: trained once on the first two thirds of the history days; the last third is its
  holdout; every following day is scored by that one model;
- ``daily``: before each following day, trained again the same way on the `history_days` days
  just before it (a model that never goes stale, as retraining every day would keep it).

On the holdout the split-conformal intervals are calibrated (`training.conformal`, level 0.9)
and the direct loss estimator fitted (`monitoring.loss_estimation`, batches of one day). Per
following day: the empirical coverage and mean width of the intervals, the estimated MAE before
labels against the realized MAE, and a constant estimate (the holdout's MAE) as the baseline
the estimator must beat. The holdout's own coverage is measured by 2-fold cross-conformal.
The static arm also has normalized intervals, ``predicted ± q * scale``, the scale each row's
expected absolute error from an error model fitted on the training rows' out-of-fold residuals.
With ``n`` rows a day, a perfectly calibrated interval's daily coverage has binomial spread
``sqrt(0.09 / n)``; `expected_days_within_goal` is how many days land within 3 points of 0.9
by that spread alone.

    flock /tmp/cpu.lock python -m benchmarks.regression_parts [DATASET ...]

Writes `benchmarks/results/regression_parts.json`.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.learning.regression_datasets import REGRESSION_DATASETS
from benchmarks.stamp import stamp
from continual_ml.monitoring import loss_estimation as dle
from continual_ml.training.conformal import (
    calibrate,
    holdout_coverage,
    interval_coverage,
    prediction_intervals,
)

RESULTS = Path(__file__).parent / "results" / "regression_parts.json"
LEVEL = 0.9
GOAL_POINTS = 0.03  # the goal: coverage within 3 points of the nominal level
FAMILIES = ("ridge", "hist_gradient_boosting")
ARMS = ("static", "daily")


def model(family: str, numeric: list[str], categorical: list[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    preprocess = ColumnTransformer(
        [
            ("numeric", StandardScaler(), numeric),
            ("categorical", OneHotEncoder(sparse_output=False), categorical),
        ]
    )
    estimator = (
        Ridge(alpha=1.0)
        if family == "ridge"
        else HistGradientBoostingRegressor(random_state=0, early_stopping=False)
    )
    return Pipeline([("preprocess", preprocess), ("regressor", estimator)])


class Fitted:
    """A model trained on days [start, start + history) minus its holdout (the last third),
    its conformal calibration and its loss estimator, both from the holdout."""

    def __init__(
        self, name: str, family: str, rows: pd.DataFrame, day: np.ndarray, start: int, scaled: bool
    ):
        dataset = REGRESSION_DATASETS[name]
        self.features = rows.drop(columns=[rows.columns[0], "event_time", dataset.label])
        categorical = [c for c in self.features.columns if self.features[c].dtype == object]
        numeric = [c for c in self.features.columns if c not in categorical]
        truth = rows[dataset.label].to_numpy(dtype=float)
        split = start + dataset.history_days - math.ceil(dataset.history_days / 3)
        train = (day >= start) & (day < split)
        holdout = (day >= split) & (day < start + dataset.history_days)
        self.model = model(family, numeric, categorical).fit(self.features[train], truth[train])
        predicted = self.model.predict(self.features[holdout])
        self.rows = {"train": int(train.sum()), "holdout": int(holdout.sum())}
        self.calibration = calibrate(truth[holdout], predicted, LEVEL)
        self.holdout_coverage = holdout_coverage(truth[holdout], predicted, LEVEL)
        self.estimator = dle.fit_loss_estimator(
            self.features[holdout], predicted, truth[holdout], batch_rows=dataset.per_day
        )
        self.scale = None
        if scaled:
            # The scale's error model learns from the training rows' out-of-fold residuals, so
            # it never saw the calibration rows (which keeps the conformal guarantee).
            from sklearn.model_selection import KFold, cross_val_predict

            out_of_fold = cross_val_predict(
                model(family, numeric, categorical),
                self.features[train],
                truth[train],
                cv=KFold(5),
            )
            self.scale = dle.fit_loss_estimator(
                self.features[train], out_of_fold, truth[train], batch_rows=dataset.per_day
            )
            self.scaled_calibration = calibrate(
                truth[holdout],
                predicted,
                LEVEL,
                scale=dle.expected_absolute_errors(self.scale, self.features[holdout], predicted),
            )


def run(name: str, family: str, arm: str) -> dict:
    dataset = REGRESSION_DATASETS[name]
    rows = dataset.build()
    day = (rows["event_time"].dt.normalize() - rows["event_time"].min().normalize()).dt.days
    day = day.to_numpy()
    truth = rows[dataset.label].to_numpy(dtype=float)
    static = Fitted(name, family, rows, day, 0, scaled=arm == "static")
    days, checks, holdout_coverages = [], [], []
    for d in range(dataset.history_days, int(day.max()) + 1):
        fitted = (
            static
            if arm == "static"
            else Fitted(name, family, rows, day, d - dataset.history_days, scaled=False)
        )
        holdout_coverages.append(fitted.holdout_coverage.coverage)
        today = day == d
        predicted = fitted.model.predict(fitted.features[today])
        lower, upper = prediction_intervals(fitted.calibration, predicted)
        coverage = interval_coverage(truth[today], lower, upper, LEVEL)
        estimate = dle.estimate_loss(fitted.estimator, fitted.features[today], predicted)
        realized = dle.realized_loss(truth[today], predicted)
        check = dle.check_estimate(estimate, realized, fitted.estimator.tolerance)
        checks.append(check)
        replayed = d - dataset.history_days
        scaled = {}
        if fitted.scale is not None:
            row_scale = dle.expected_absolute_errors(
                fitted.scale, fitted.features[today], predicted
            )
            lower, upper = prediction_intervals(fitted.scaled_calibration, predicted, row_scale)
            both = interval_coverage(truth[today], lower, upper, LEVEL)
            scaled = {"scaled_coverage": both.coverage, "scaled_mean_width": both.mean_width}
        days.append(
            {
                **scaled,
                "replayed_day": replayed,
                "after_shift": any(replayed >= s for s in dataset.shifts),
                "coverage": coverage.coverage,
                "mean_width": coverage.mean_width,
                "estimated_mae": estimate.mae,
                "realized_mae": realized.mae,
                "constant_mae_error": abs(fitted.estimator.reference_mae - realized.mae),
                "estimate_within_tolerance": check.within_tolerance,
                "estimate_tolerance": fitted.estimator.tolerance,
            }
        )
    return {
        "rows": static.rows,
        "calibration": static.calibration.to_dict(),
        "holdout_coverage": float(np.mean(holdout_coverages)),
        "stable_days": summary(days, checks, after_shift=False, per_day=dataset.per_day),
        "shifted_days": summary(days, checks, after_shift=True, per_day=dataset.per_day),
        "days": days,
    }


def summary(days: list[dict], checks: list, after_shift: bool, per_day: int) -> dict | None:
    """Coverage and estimate errors over the days on one side of the shift."""
    side = [(d, c) for d, c in zip(days, checks, strict=True) if d["after_shift"] == after_shift]
    if not side:
        return None
    part, mine = [d for d, _ in side], [c for _, c in side]
    coverage = [d["coverage"] for d in part]
    scaled = {}
    if "scaled_coverage" in part[0]:
        scaled_coverage = [d["scaled_coverage"] for d in part]
        scaled = {
            "scaled_mean_coverage": float(np.mean(scaled_coverage)),
            "scaled_days_within_goal": sum(
                abs(c - LEVEL) <= GOAL_POINTS + 1e-9 for c in scaled_coverage
            ),
            "scaled_mean_width": float(np.mean([d["scaled_mean_width"] for d in part])),
        }
    return {
        **scaled,
        "days": len(part),
        "mean_coverage": float(np.mean(coverage)),
        "days_within_goal": sum(abs(c - LEVEL) <= GOAL_POINTS + 1e-9 for c in coverage),
        "expected_days_within_goal": round(len(part) * within_goal_probability(per_day), 1),
        "mean_width": float(np.mean([d["mean_width"] for d in part])),
        "mean_realized_mae": float(np.mean([d["realized_mae"] for d in part])),
        "estimate_mean_abs_error": float(
            np.mean([abs(d["estimated_mae"] - d["realized_mae"]) for d in part])
        ),
        "constant_mean_abs_error": float(np.mean([d["constant_mae_error"] for d in part])),
        # Days each judged against their own model's tolerance; the verdict needs one figure,
        # the median of those tolerances.
        "reliability": dle.estimate_reliability(
            mine, float(np.median([d["estimate_tolerance"] for d in part]))
        ).to_dict(),
    }


def within_goal_probability(rows: int) -> float:
    """P(|covered / rows - 0.9| <= 0.03) when each row is covered with probability 0.9."""
    from scipy.stats import binom

    low, high = (
        math.ceil((LEVEL - GOAL_POINTS) * rows - 1e-9),
        math.floor((LEVEL + GOAL_POINTS) * rows + 1e-9),
    )
    return float(binom.cdf(high, rows, LEVEL) - binom.cdf(low - 1, rows, LEVEL))


def main() -> None:
    names = sys.argv[1:] or list(REGRESSION_DATASETS)
    results = {
        name: {arm: {family: run(name, family, arm) for family in FAMILIES} for arm in ARMS}
        for name in names
    }
    RESULTS.write_text(
        json.dumps(
            {
                "stamp": stamp(),
                "command": "python -m benchmarks.regression_parts " + " ".join(sys.argv[1:]),
                "level": LEVEL,
                "note": "offline: plain scikit-learn models on the regression datasets, "
                "not yet through the loop",
                "results": results,
            },
            indent=1,
        )
        + "\n"
    )
    print(table(results))


def table(results: dict) -> str:
    from tabulate import tabulate

    lines = []
    for name, arms in results.items():
        for arm, families in arms.items():
            for family, r in families.items():
                for side in ("stable_days", "shifted_days"):
                    s = r[side]
                    if s is not None:
                        lines.append(
                            [
                                name,
                                arm,
                                family,
                                side.split("_")[0],
                                r["holdout_coverage"],
                                s["mean_coverage"],
                                f"{s['days_within_goal']}/{s['days']} "
                                f"({s['expected_days_within_goal']})",
                                _scaled(s),
                                s["mean_width"],
                                s["mean_realized_mae"],
                                s["estimate_mean_abs_error"],
                                s["constant_mean_abs_error"],
                                s["reliability"]["reliable"],
                            ]
                        )
    headers = [
        "dataset",
        "arm",
        "model",
        "days",
        "holdout cov",
        "day cov",
        "days ±3 pt (expected)",
        "normalized: cov, days ±3 pt, width",
        "width",
        "MAE",
        "DLE err",
        "const err",
        "DLE reliable",
    ]
    return tabulate(lines, headers, floatfmt=".3f")


def _scaled(s: dict) -> str:
    if "scaled_mean_coverage" not in s:
        return ""
    return (
        f"{s['scaled_mean_coverage']:.3f}, {s['scaled_days_within_goal']}/{s['days']}, "
        f"{s['scaled_mean_width']:.3f}"
    )


if __name__ == "__main__":
    main()
