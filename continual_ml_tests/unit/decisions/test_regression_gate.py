"""The regression gate: paired on per-row errors, a bootstrap interval and a signed-rank test,
a minimum effect, and pooling with earlier refusals as classification's gate pools."""

import dataclasses

import numpy as np
import pytest

from continual_ml.decisions.regression_gate import (
    RegressionGateSettings,
    evaluate_regression_gate,
    pool_regression_refusals,
    signed_rank_p,
)


def holdout(seed: int, n: int, candidate_noise: float, champion_noise: float = 1.0):
    rng = np.random.default_rng(seed)
    truth = rng.normal(10, 3, size=n)
    return (
        truth,
        truth + rng.normal(scale=candidate_noise, size=n),
        truth + rng.normal(scale=champion_noise, size=n),
    )


def test_a_clearly_better_candidate_passes_with_its_evidence():
    result = evaluate_regression_gate(*holdout(0, 400, 0.5), RegressionGateSettings())
    assert result.passed and "passes" in result.reason
    assert result.candidate_value < result.champion_value
    assert result.improvement == pytest.approx(result.champion_value - result.candidate_value)
    assert 0 < result.ci_low < result.improvement < result.ci_high
    assert result.wilcoxon_p_value < 0.05
    assert result.candidate_better_rows > result.champion_better_rows
    assert result.n == 400


def test_an_equal_candidate_is_refused_with_the_reasons():
    result = evaluate_regression_gate(*holdout(1, 400, 1.0), RegressionGateSettings())
    assert not result.passed
    assert "CI lower bound not above 0" in result.reason


def test_a_worse_candidate_is_refused():
    result = evaluate_regression_gate(*holdout(2, 400, 2.0), RegressionGateSettings())
    assert not result.passed and result.improvement < 0 and result.ci_high < 0


def test_the_minimum_effect_is_in_the_errors_units():
    truth, candidate, champion = holdout(0, 400, 0.5)
    result = evaluate_regression_gate(truth, candidate, champion, RegressionGateSettings())
    higher = RegressionGateSettings(min_effect=result.improvement + 0.01)
    refused = evaluate_regression_gate(truth, candidate, champion, higher)
    assert not refused.passed and "below min effect" in refused.reason


def test_squared_errors_weigh_large_misses():
    truth = np.zeros(200)
    # the candidate is off by 1 everywhere; the champion is exact but for ten misses of 15
    candidate = np.ones(200)
    champion = np.where(np.arange(200) < 10, 15.0, 0.0)
    absolute = evaluate_regression_gate(truth, candidate, champion, RegressionGateSettings())
    squared = evaluate_regression_gate(
        truth, candidate, champion, RegressionGateSettings(metric="squared_error")
    )
    assert absolute.improvement < 0 < squared.improvement
    assert squared.champion_value == pytest.approx(10 * 225 / 200)


def test_identical_predictions_are_no_evidence():
    truth, candidate, _ = holdout(3, 100, 1.0)
    result = evaluate_regression_gate(truth, candidate, candidate, RegressionGateSettings())
    assert not result.passed and result.wilcoxon_p_value == 1.0
    assert signed_rank_p(np.zeros(5)) == (0.0, 1.0, 0.0)


def test_no_rows_is_a_refusal_that_says_so():
    result = evaluate_regression_gate([], [], [], RegressionGateSettings())
    assert not result.passed and result.n == 0 and "no labelled rows" in result.reason


def test_a_small_gain_refused_alone_passes_pooled_with_earlier_refusals():
    settings = RegressionGateSettings()
    # six holdouts of 150 rows where the candidate's noise is 12 % smaller
    alone = [
        evaluate_regression_gate(*holdout(seed, 150, 0.88), settings) for seed in range(10, 16)
    ]
    assert not any(r.passed for r in alone)
    newest, *earlier = alone
    assert newest.improvement > 0
    pooled = pool_regression_refusals(newest, earlier, settings)
    assert pooled.passed and pooled.pooled_refusals == len(earlier)
    assert "pooled with" in pooled.reason and pooled.reason.endswith("passes")


def test_pooling_never_passes_a_candidate_that_is_not_itself_better():
    settings = RegressionGateSettings()
    worse = evaluate_regression_gate(*holdout(20, 150, 1.3), settings)
    better = [evaluate_regression_gate(*holdout(s, 150, 0.8), settings) for s in (21, 22)]
    assert worse.improvement < 0
    assert pool_regression_refusals(worse, better, settings) == worse
    other_metric = dataclasses.replace(better[0], metric="squared_error")
    newest = dataclasses.replace(better[1], passed=False)
    assert pool_regression_refusals(newest, [other_metric], settings) == newest
