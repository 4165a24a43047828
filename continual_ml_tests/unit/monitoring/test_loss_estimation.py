"""Direct loss estimation: a model of the primary model's error follows covariate shift that a
constant estimate cannot, and its reliability verdict tells concept drift apart."""

import json

import numpy as np
import pandas as pd
import pytest

from continual_ml.monitoring.loss_estimation import (
    check_estimate,
    estimate_loss,
    estimate_reliability,
    expected_absolute_errors,
    fit_loss_estimator,
    realized_loss,
)

BATCH = 200


def rows(n: int, rng, load_low: float = 0.0, load_high: float = 1.0, noise_factor: float = 1.0):
    """Heteroscedastic rows: the truth's spread grows with `load`; the primary model knows the
    mean exactly, so its error is the noise alone."""
    features = pd.DataFrame(
        {
            "load": rng.uniform(load_low, load_high, n),
            "size": rng.normal(0, 1, n),
            "segment": rng.choice(["a", "b"], n),
        }
    )
    predicted = 3 * features["size"].to_numpy()
    spread = (0.2 + 2.0 * features["load"].to_numpy()) * noise_factor
    return features, predicted, predicted + rng.normal(0, spread)


@pytest.fixture(scope="module")
def estimator():
    features, predicted, truth = rows(2000, np.random.default_rng(0))
    return fit_loss_estimator(features, predicted, truth, batch_rows=BATCH)


def test_the_estimate_follows_covariate_shift_a_constant_misses(estimator):
    rng = np.random.default_rng(1)
    estimate_errors, constant_errors = [], []
    for low, high in [(0.0, 0.3), (0.7, 1.0), (0.0, 1.0), (0.4, 0.6), (0.9, 1.0)]:
        features, predicted, truth = rows(BATCH, rng, low, high)
        realized = realized_loss(truth, predicted).mae
        estimate_errors.append(abs(estimate_loss(estimator, features, predicted).mae - realized))
        constant_errors.append(abs(estimator.reference_mae - realized))
    # The batches' MAE ranges from about 0.5 to 1.7 around a reference of 1.0: a constant is off
    # by about 0.4 on average, an estimator that learned the spread by its sampling error.
    assert np.mean(estimate_errors) < 0.5 * np.mean(constant_errors)


def test_the_rmse_estimate_follows_the_squared_error(estimator):
    features, predicted, truth = rows(BATCH, np.random.default_rng(2), 0.8, 1.0)
    estimate, realized = (
        estimate_loss(estimator, features, predicted),
        realized_loss(truth, predicted),
    )
    _, reference_predicted, reference_truth = rows(2000, np.random.default_rng(0))
    constant = realized_loss(reference_truth, reference_predicted)  # the fixture's reference
    assert abs(estimate.rmse - realized.rmse) < 0.5 * abs(constant.rmse - realized.rmse)


def test_reliable_under_covariate_shift_unreliable_under_concept_drift(estimator):
    rng = np.random.default_rng(3)
    same, drifted = [], []
    for day in range(12):
        low = 0.05 * day  # the load moves day by day: covariate shift only
        features, predicted, truth = rows(BATCH, rng, low, low + 0.4)
        same.append(
            check_estimate(
                estimate_loss(estimator, features, predicted),
                realized_loss(truth, predicted),
                estimator.tolerance,
            )
        )
        # The same features with a noisier concept: p(y | x) changed, the features did not.
        features, predicted, truth = rows(BATCH, rng, low, low + 0.4, noise_factor=1.6)
        drifted.append(
            check_estimate(
                estimate_loss(estimator, features, predicted),
                realized_loss(truth, predicted),
                estimator.tolerance,
            )
        )
    assert estimate_reliability(same, estimator.tolerance).reliable is True
    verdict = estimate_reliability(drifted, estimator.tolerance)
    assert verdict.reliable is False
    assert verdict.days_beyond_tolerance == 12  # every day's MAE is 60% above the estimate
    json.dumps(verdict.to_dict())


def test_no_labelled_day_has_no_verdict(estimator):
    assert estimate_reliability([], estimator.tolerance).reliable is None


def test_an_unseen_category_and_missing_values_are_estimated(estimator):
    features, predicted, _ = rows(50, np.random.default_rng(4))
    features.loc[:9, "segment"] = "never seen"
    features.loc[10:19, "load"] = np.nan
    estimate = estimate_loss(estimator, features, predicted)
    assert estimate.rows == 50 and estimate.mae > 0


def test_a_batch_without_a_reference_column_is_refused(estimator):
    features, predicted, _ = rows(50, np.random.default_rng(5))
    with pytest.raises(ValueError, match="load"):
        estimate_loss(estimator, features.drop(columns="load"), predicted)


def test_too_small_a_reference_is_refused():
    features, predicted, truth = rows(60, np.random.default_rng(6))
    with pytest.raises(ValueError, match="at least 100"):
        fit_loss_estimator(features, predicted, truth)


def test_realized_loss_counts_only_rows_with_an_actual():
    realized = realized_loss([1.0, np.nan, 4.0], [0.0, 9.0, 0.0])
    assert (realized.rows, realized.mae) == (2, 2.5)
    assert realized.rmse == pytest.approx(np.sqrt(8.5))
    assert realized_loss([np.nan], [0.0]).mae is None


def test_about_one_new_day_in_twenty_is_beyond_the_tolerance():
    # A small reference (400 rows for days of 200): batches drawn from it vary less than new
    # days do, which the tolerance must correct for or it calls ordinary days unusual.
    features, predicted, truth = rows(400, np.random.default_rng(8))
    small = fit_loss_estimator(features, predicted, truth, batch_rows=BATCH)
    rng = np.random.default_rng(9)
    days = 100
    beyond = 0
    for _ in range(days):
        features, predicted, truth = rows(BATCH, rng)
        check = check_estimate(
            estimate_loss(small, features, predicted),
            realized_loss(truth, predicted),
            small.tolerance,
        )
        beyond += not check.within_tolerance
    # By design 5% of days: 5 of 100, binomial sd 2.2; 2.5 sd above (one-sided p 0.006) is
    # 10.4. Without the finite-reference correction the tolerance is a third narrower here.
    assert beyond <= 10


def test_each_rows_expected_error_grows_with_its_spread(estimator):
    rng = np.random.default_rng(10)
    low_features, low_predicted, _ = rows(BATCH, rng, 0.0, 0.1)
    high_features, high_predicted, _ = rows(BATCH, rng, 0.9, 1.0)
    low = expected_absolute_errors(estimator, low_features, low_predicted)
    high = expected_absolute_errors(estimator, high_features, high_predicted)
    # E|noise| = 0.8 * (0.2 + 2 * load): about 0.24 for the first rows, 1.8 for the second.
    assert high.mean() > 3 * low.mean()
    assert (low > 0).all()  # a conformal scale must be positive
