"""A regression champion's batch monitoring: realized error, its estimate before labels, the
interval's coverage, and drift of the champion's numbers and of the target."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from continual_ml.monitoring.regression_batch import monitor_regression_batch, regression_champion
from continual_ml_tests.support.regression_data import regression_config, regression_days

CONFIG = regression_config()
FEATURES = CONFIG.feature_names


@pytest.fixture(scope="module")
def champion():
    """A ridge fitted on three days, its holdout the next two (out of sample)."""
    train, holdout = regression_days("2026-03-01", 3, seed=1), regression_days("2026-03-04", 2, 2)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["segment"]), remainder="passthrough"), Ridge()
    ).fit(train[FEATURES], train["price"])
    holdout = holdout.assign(truth=holdout["price"], candidate_prediction=model.predict(holdout))
    return regression_champion(CONFIG, 1, model, holdout, batch_rows=200), train


def test_a_day_of_the_same_concept_is_measured_estimated_and_covered(champion):
    fitted, reference = champion
    day = monitor_regression_batch(CONFIG, fitted, reference, regression_days("2026-03-06", 1, 3))
    row = day.as_row()
    assert row["n_labelled"] == row["n_rows"] > 150
    assert 0.65 < row["realized_mae"] < 0.95  # noise of sd 1: MAE 0.80
    assert abs(row["estimated_mae"] - row["realized_mae"]) < 0.2
    assert 0.8 <= row["interval_coverage"] <= 0.97 and row["interval_rows"] == row["n_labelled"]
    assert not row["prediction_drifted"] and not row["target_drifted"]
    assert day.policy_error(day.realized) == row["realized_mae"]
    assert row["realized_error_sd"] > 0


def test_a_concept_shift_raises_the_realized_error_not_its_estimate(champion):
    fitted, reference = champion
    shifted = regression_days("2026-03-06", 1, 3, shift=True)
    row = monitor_regression_batch(CONFIG, fitted, reference, shifted).as_row()
    assert row["realized_mae"] > 5 * row["estimated_mae"]  # the estimate cannot see p(y|x) move
    assert row["estimate_within_tolerance"] is False
    assert row["interval_coverage"] < 0.5


def test_a_moved_target_drifts_and_unlabelled_rows_are_only_estimated(champion):
    fitted, reference = champion
    moved = regression_days("2026-03-06", 1, 3).assign(price=lambda d: d["price"] + 8)
    assert monitor_regression_batch(CONFIG, fitted, reference, moved).target_drift.drifted
    waiting = regression_days("2026-03-06", 1, 3).assign(price=np.nan)
    day = monitor_regression_batch(CONFIG, fitted, reference, waiting)
    assert day.realized is None and day.coverage is None and day.target_drift is None
    assert day.estimated.mae > 0 and day.as_row()["n_labelled"] == 0


def test_a_holdout_too_small_says_what_is_missing(champion):
    fitted, reference = champion
    holdout = pd.DataFrame(
        {**{f: reference[f].iloc[:5] for f in FEATURES}, "truth": 1.0, "candidate_prediction": 1.0}
    )
    small = regression_champion(CONFIG, 2, fitted.model, holdout, batch_rows=200)
    assert small.estimator is None and small.calibration is None
    assert "no error estimate before labels" in small.note and "no interval: 5" in small.note
    day = monitor_regression_batch(CONFIG, small, reference, regression_days("2026-03-06", 1, 3))
    assert day.estimated is None and day.coverage is None and day.realized.mae > 0


def test_a_partly_labelled_day_checks_the_estimate_of_its_labelled_rows_at_their_count(champion):
    fitted, reference = champion
    partly = regression_days("2026-03-06", 1, 3)
    partly.loc[partly.index[20:], "price"] = np.nan  # 20 labels landed so far
    day = monitor_regression_batch(CONFIG, fitted, reference, partly)
    assert day.check.rows == 20 and day.realized.rows == 20
    # 20 rows' MAE is noisier than a whole day's: the tolerance is that of 20 rows
    assert day.tolerance > fitted.estimator.tolerance_for(len(partly))
    assert day.estimated.rows == len(partly)  # the day's estimate is still of all its rows
