"""Split-conformal intervals: the finite-sample coverage they promise, on exchangeable data.

Tolerances come from the spread of the figure measured, never from a measured value: over R
independent calibration sets the mean coverage has standard deviation at most
sqrt(var_cal + var_test) / sqrt(R), and each test allows five of them.
"""

import json
import math

import numpy as np
import pytest

from continual_ml.training.conformal import (
    ConformalCalibration,
    calibrate,
    holdout_coverage,
    interval_coverage,
    minimum_rows,
    prediction_intervals,
)


def mean_coverage(n_calibration: int, level: float, repeats: int, test_rows: int = 200):
    rng = np.random.default_rng(29)
    covered = []
    for _ in range(repeats):
        truth = rng.standard_t(3, n_calibration + test_rows)  # heavy tails: no normality used
        predicted = np.zeros_like(truth)
        calibration = calibrate(truth[:n_calibration], predicted[:n_calibration], level)
        lower, upper = prediction_intervals(calibration, predicted[n_calibration:])
        covered.append(interval_coverage(truth[n_calibration:], lower, upper, level).coverage)
    return float(np.mean(covered))


@pytest.mark.parametrize("n_calibration", [10, 200])
def test_coverage_is_the_conformal_rank_over_n_plus_one(n_calibration):
    # Exchangeable continuous scores: a new row falls below the k-th of n with probability
    # k / (n + 1), k = ceil((n + 1) * level). For n = 10 that is 10/11 = 0.909; a quantile
    # without the +1 correction (k = 9) would give 0.818.
    level, repeats = 0.9, 400
    expected = math.ceil((n_calibration + 1) * level) / (n_calibration + 1)
    # Conditional coverage is Beta(k, n + 1 - k): its variance plus the test rows' binomial one.
    k = math.ceil((n_calibration + 1) * level)
    beta_var = k * (n_calibration + 1 - k) / ((n_calibration + 1) ** 2 * (n_calibration + 2))
    sd = math.sqrt((beta_var + expected * (1 - expected) / 200) / repeats)
    assert abs(mean_coverage(n_calibration, level, repeats) - expected) <= 5 * sd


def test_too_few_rows_for_a_finite_interval_is_refused():
    assert minimum_rows(0.9) == 9
    calibrate(np.arange(9.0), np.zeros(9), 0.9)
    with pytest.raises(ValueError, match="at least 9 rows"):
        calibrate(np.arange(8.0), np.zeros(8), 0.9)
    with pytest.raises(ValueError, match="between 0 and 1"):
        calibrate(np.arange(20.0), np.zeros(20), 1.0)


def test_rows_without_an_actual_are_left_out():
    truth = np.array([1.0, np.nan, 3.0, 4.0])
    calibration = calibrate(truth, [1.0, 50.0, 2.0, 2.0], level=0.5)
    assert calibration.calibration_rows == 3
    assert calibration.half_width == 1.0  # |0|, |1|, |2|: rank ceil(4 * 0.5) = 2
    coverage = interval_coverage(truth, [0.0, 0.0, 0.0, 5.0], [2.0, 2.0, 3.0, 6.0])
    assert (coverage.rows, coverage.covered) == (3, 2)
    assert coverage.mean_width == 2.0  # widths 2, 3, 1 on the known rows
    assert interval_coverage([np.nan], [0.0], [1.0]).coverage is None


def test_normalized_intervals_cover_hard_rows_that_plain_ones_miss():
    rng = np.random.default_rng(7)
    n = 20000
    scale = np.where(np.arange(n) % 2 == 0, 0.2, 2.0)  # easy and hard rows, known spreads
    truth = rng.normal(0, scale)
    predicted = np.zeros(n)
    cal, test = slice(0, n // 2), slice(n // 2, n)
    hard = scale[test] == 2.0
    plain = calibrate(truth[cal], predicted[cal], 0.9)
    normalized = calibrate(truth[cal], predicted[cal], 0.9, scale=scale[cal])
    lower, upper = prediction_intervals(plain, predicted[test])
    plain_hard = interval_coverage(truth[test][hard], lower[hard], upper[hard]).coverage
    lower, upper = prediction_intervals(normalized, predicted[test], scale=scale[test])
    normal_hard = interval_coverage(truth[test][hard], lower[hard], upper[hard]).coverage
    normal_all = interval_coverage(truth[test], lower, upper).coverage
    # 5,000 hard rows: binomial sd 0.0042 (+ the calibration's, 0.0042): 5 sd is 0.03.
    assert abs(normal_hard - 0.9) <= 0.03
    assert abs(normal_all - 0.9) <= 0.03
    # The plain width covers every easy row, so hard rows get 0.8 of 0.9 = 0.5 + 0.5 * 0.8.
    assert abs(plain_hard - 0.8) <= 0.03
    with pytest.raises(ValueError, match="scale"):
        prediction_intervals(normalized, predicted[test])


def test_holdout_coverage_never_uses_a_row_for_its_own_interval():
    # Two far-off rows, both in fold 0 (even rows). Calibrated on all 20 rows, the rank-19
    # residual is 100 and every row is covered; fold 0's intervals come from fold 1 alone (all
    # zeros, width 0), so the two are not.
    truth = np.zeros(20)
    truth[[0, 2]] = 100.0
    coverage = holdout_coverage(truth, np.zeros(20), level=0.9, folds=2)
    assert coverage.rows == 20
    assert coverage.covered == 18


def test_holdout_coverage_is_near_nominal_on_exchangeable_rows():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=4000)
    coverage = holdout_coverage(truth, np.zeros(4000), level=0.9).coverage
    # 4,000 rows, two calibrations of 2,000: sd about sqrt(0.09/4000 + 0.09/2000) = 0.0082.
    assert abs(coverage - 0.9) <= 5 * 0.0082


def test_calibration_and_coverage_serialize_to_json():
    calibration = calibrate(np.arange(20.0), np.zeros(20), 0.9)
    again = ConformalCalibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert again == calibration
    lower, upper = prediction_intervals(again, [0.0])
    json.dumps(interval_coverage([1.0], lower, upper).to_dict())
