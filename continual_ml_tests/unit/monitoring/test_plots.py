import math

import pandas as pd

from continual_ml.monitoring.plots import feature_drift_png

PNG = b"\x89PNG"


def scores(threshold: float, score: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature": ["x0", "x1"],
            "score": [score, score],
            "threshold": [threshold, threshold],
            "drifted": [False, False],
            "partition_date": ["2026-03-13"] * 2,
        }
    )


def test_a_day_with_too_few_rows_for_any_verdict_still_draws_its_chart():
    # every feature below `drift_min_rows`: no score, no threshold (NaN), nothing drifted
    assert feature_drift_png(scores(math.nan, math.nan), 0.3).startswith(PNG)


def test_a_tested_day_draws_its_chart():
    assert feature_drift_png(scores(0.05, 0.4), 0.3).startswith(PNG)
