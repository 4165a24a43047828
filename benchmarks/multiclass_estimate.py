"""How far the multiclass performance estimate (before labels) is from the realized accuracy.

On river's ImageSegments (bundled, read offline), cut into days of 140 rows as
`benchmarks/user_datasets.py` does, both as its three groups (sky, vegetation, man-made) and as
its seven original classes. For each day ``d`` from `FIRST_ORIGIN` on, a champion is trained
by the product's pipeline on the `WINDOW_DAYS` days before ``d`` (its holdout split off as
`training.pipeline.split_window` does), then estimated on each later day before its labels:

- ``raw``: the mean confidence (highest class probability), no calibration;
- ``cbpe``: the product's estimate, the mean of the confidence calibrated on the holdout
  (`performance_estimation.confidence_calibration`);

and compared with the day's realized accuracy. `class_calibration.check_class_calibration`'s
verdict on each champion's holdout is recorded with its errors, to see whether "poor" marks the
estimates that miss. Writes `benchmarks/results/multiclass_estimate.json`.

    python -m benchmarks.multiclass_estimate
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.stamp import stamp
from benchmarks.user_datasets import _days
from continual_ml.config import DatasetConfig
from continual_ml.monitoring.class_calibration import check_class_calibration
from continual_ml.monitoring.performance_estimation import (
    confidence_calibration,
    estimate_class_performance,
)
from continual_ml.training.class_probabilities import class_proba
from continual_ml.training.pipeline import fit_candidate, split_window

RESULTS = Path(__file__).parent / "results" / "multiclass_estimate.json"
WINDOW_DAYS = 7
FIRST_ORIGIN = 7
GROUPS = {"sky": "sky", "foliage": "vegetation", "grass": "vegetation"}


def segments(grouped: bool) -> pd.DataFrame:
    from river import datasets

    rows = pd.DataFrame(
        [
            {
                **{k.replace("-", "_"): v for k, v in x.items()},
                "class": GROUPS.get(y, "man-made") if grouped else y,
            }
            for x, y in datasets.ImageSegments()
        ]
    )
    rows = _days(rows, "region_id", per_day=140).rename(columns={"region_id": "row_id"})
    rows["partition_date"] = rows["event_time"].dt.date
    return rows


def config_for(rows: pd.DataFrame) -> DatasetConfig:
    features = [c for c in rows.columns if c not in ("row_id", "event_time", "class", "day")]
    features.remove("partition_date")
    return DatasetConfig.model_validate(
        {
            "name": "segments",
            "label": "class",
            "classes": sorted(rows["class"].unique()),
            "features": [{"name": name, "kind": "numeric"} for name in features],
        }
    )


def measure(grouped: bool) -> dict:
    rows = segments(grouped)
    config = config_for(rows)
    days = sorted(rows["partition_date"].unique())
    index_of = {c: i for i, c in enumerate(config.classes)}
    records = []
    for origin in range(FIRST_ORIGIN, len(days) - 1):
        window = rows[rows["partition_date"].isin(days[origin - WINDOW_DAYS : origin])]
        split = split_window(window, config.model.holdout_fraction, config.model.min_holdout_rows)
        model = fit_candidate(config, split.train)
        holdout_proba = class_proba(model, config, split.holdout)
        holdout_truth = split.holdout["class"].map(index_of).to_numpy()
        calibrator = confidence_calibration(holdout_proba, holdout_truth)
        check = check_class_calibration(holdout_proba, holdout_truth)
        for day in days[origin:]:
            batch = rows[rows["partition_date"] == day]
            proba = class_proba(model, config, batch)
            truth = batch["class"].map(index_of).to_numpy()
            realized = float(np.mean(proba.argmax(axis=1) == truth))
            records.append(
                {
                    "origin": str(days[origin]),
                    "day": str(day),
                    "days_ahead": (day - days[origin]).days,
                    "n_holdout": len(holdout_truth),
                    "realized": realized,
                    "raw": float(proba.max(axis=1).mean()),
                    "cbpe": estimate_class_performance(proba, calibrator)["accuracy"],
                    "calibration_poor": check.poor,
                    "calibrated_ece": check.calibrated_ece,
                    "chance_ece": check.chance_ece,
                    "raw_ece": check.raw_ece,
                }
            )
    frame = pd.DataFrame(records)
    return {"classes": list(config.classes), "summary": summary(frame), "days": records}


def summary(frame: pd.DataFrame) -> dict:
    out = {"n_estimates": len(frame), "n_champions": int(frame["origin"].nunique())}
    for method in ("raw", "cbpe"):
        error = frame[method] - frame["realized"]
        out[method] = {
            "mean_abs_error": round(float(error.abs().mean()), 4),
            "max_abs_error": round(float(error.abs().max()), 4),
            "mean_signed_error": round(float(error.mean()), 4),
            "share_within_0.05": round(float((error.abs() <= 0.05).mean()), 4),
        }
    poor = frame["calibration_poor"]
    cbpe_error = (frame["cbpe"] - frame["realized"]).abs()
    out["champions_with_poor_calibration"] = int(frame.loc[poor, "origin"].nunique())
    out["cbpe_mean_abs_error_when_poor"] = (
        round(float(cbpe_error[poor].mean()), 4) if poor.any() else None
    )
    out["cbpe_mean_abs_error_when_holds"] = (
        round(float(cbpe_error[~poor].mean()), 4) if (~poor).any() else None
    )
    return out


def main() -> None:
    results = {
        "stamp": stamp(),
        "three_groups": measure(grouped=True),
        "seven_classes": measure(grouped=False),
    }
    RESULTS.write_text(json.dumps(results, indent=2))
    for name in ("three_groups", "seven_classes"):
        print(name, json.dumps(results[name]["summary"], indent=2))


if __name__ == "__main__":
    main()
