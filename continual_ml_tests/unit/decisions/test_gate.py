"""The statistical promotion gate on synthetic models of known accuracy."""

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats
from sklearn.metrics import brier_score_loss, log_loss

from continual_ml.decisions.gate import (
    GateResult,
    GateSettings,
    check_compatibility,
    evaluate_gate,
    mcnemar_test,
    paired_bootstrap,
)
from continual_ml.decisions.gate_pooling import pool_refusals


def model_proba(truth, accuracy, rng):
    """Positive-class probabilities of a model that is right on about `accuracy` of the rows."""
    correct = rng.random(len(truth)) < accuracy
    confidence = rng.uniform(0.55, 0.95, len(truth))
    proba_of_truth = np.where(correct, confidence, 1 - confidence)
    return np.where(truth == 1, proba_of_truth, 1 - proba_of_truth)


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(11)
    truth = rng.integers(0, 2, 2000)
    return truth, model_proba(truth, 0.90, rng), model_proba(truth, 0.75, rng)


@pytest.mark.parametrize("metric", ["accuracy", "log_loss", "brier"])
def test_a_clearly_better_candidate_passes(rows, metric):
    truth, candidate, champion = rows
    result = evaluate_gate(truth, candidate, champion, GateSettings(metric=metric))
    assert result.passed, result.reason
    assert result.improvement > 0.05 and 0 < result.ci_low <= result.improvement <= result.ci_high
    assert result.mcnemar_method == "chi2" and result.mcnemar_p_value < 1e-6
    assert result.reason.startswith(f"candidate {metric} ") and "passes" in result.reason


@pytest.mark.parametrize("metric", ["accuracy", "log_loss", "brier"])
def test_swapping_the_models_flips_the_sign_and_fails(rows, metric):
    truth, candidate, champion = rows
    better = evaluate_gate(truth, candidate, champion, GateSettings(metric=metric))
    worse = evaluate_gate(truth, champion, candidate, GateSettings(metric=metric))
    assert not worse.passed and "fails" in worse.reason
    assert worse.improvement == pytest.approx(-better.improvement)
    assert worse.candidate_value == better.champion_value
    assert worse.ci_high < 0


def test_metric_values_are_the_metrics_themselves_with_losses_reported_as_losses(rows):
    truth, candidate, champion = rows
    loss = evaluate_gate(truth, candidate, champion, GateSettings(metric="log_loss"))
    assert loss.candidate_value == pytest.approx(log_loss(truth, candidate))
    assert loss.champion_value == pytest.approx(log_loss(truth, champion))
    # Lower loss is better, so the improvement is champion minus candidate.
    assert loss.improvement == pytest.approx(loss.champion_value - loss.candidate_value)
    brier = evaluate_gate(truth, candidate, champion, GateSettings(metric="brier"))
    assert brier.candidate_value == pytest.approx(brier_score_loss(truth, candidate))
    accuracy = evaluate_gate(truth, candidate, champion, GateSettings())
    assert accuracy.candidate_value == pytest.approx(np.mean((candidate >= 0.5) == truth))


def test_an_identical_model_fails(rows):
    truth, candidate, _ = rows
    result = evaluate_gate(truth, candidate, candidate, GateSettings())
    assert not result.passed
    assert result.improvement == 0 and result.ci_low == result.ci_high == 0
    assert result.mcnemar_p_value == 1.0 and result.candidate_only_correct == 0


def test_a_candidate_worse_by_noise_fails(rows):
    truth, _, champion = rows
    rng = np.random.default_rng(5)
    # The champion with 1% of its rows flipped: the same model, a little worse by chance.
    flipped = rng.random(len(truth)) < 0.01
    candidate = np.where(flipped, 1 - champion, champion)
    result = evaluate_gate(truth, candidate, champion, GateSettings())
    assert not result.passed and result.improvement < 0


def test_two_equally_good_models_with_independent_errors_fail():
    rng = np.random.default_rng(8)
    truth = rng.integers(0, 2, 2000)
    candidate, champion = model_proba(truth, 0.8, rng), model_proba(truth, 0.8, rng)
    result = evaluate_gate(truth, candidate, champion, GateSettings())
    assert not result.passed
    assert result.ci_low < 0 < result.ci_high and result.mcnemar_p_value > 0.05


def test_a_significant_gain_smaller_than_min_effect_fails():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 20000)
    candidate, champion = model_proba(truth, 0.90, rng), model_proba(truth, 0.88, rng)
    strict = evaluate_gate(truth, candidate, champion, GateSettings(min_effect=0.05))
    assert strict.ci_low > 0 and strict.mcnemar_p_value < 0.05
    assert not strict.passed and "below min effect 0.05" in strict.reason
    lenient = evaluate_gate(truth, candidate, champion, GateSettings(min_effect=0.01))
    assert lenient.passed, lenient.reason


def test_an_improvement_of_exactly_min_effect_is_enough():
    truth = np.ones(100, dtype=int)
    champion = np.full(100, 0.9)
    # The candidate is right on every row of the 100, the champion on all but the first 10.
    champion[:10] = 0.1
    result = evaluate_gate(truth, np.full(100, 0.9), champion, GateSettings(min_effect=0.1))
    assert result.improvement == pytest.approx(0.1)
    assert result.passed, result.reason


def test_mcnemar_exact_branch_matches_scipy_binomtest():
    # 7 rows only the candidate gets right, 2 only the champion, 11 both, 5 neither.
    candidate = [1] * 7 + [0] * 2 + [1] * 11 + [0] * 5
    champion = [0] * 7 + [1] * 2 + [1] * 11 + [0] * 5
    result = mcnemar_test(np.array(candidate, bool), np.array(champion, bool))
    assert result.method == "exact"
    assert (result.candidate_only_correct, result.champion_only_correct) == (7, 2)
    assert result.p_value == pytest.approx(stats.binomtest(7, 9, 0.5).pvalue)
    assert result.statistic == 2


def test_mcnemar_uses_corrected_chi_square_from_25_discordant_pairs():
    candidate = np.array([True] * 18 + [False] * 7)
    result = mcnemar_test(candidate, ~candidate)
    assert result.method == "chi2"
    assert result.statistic == pytest.approx((18 - 7 - 1) ** 2 / 25)
    assert result.p_value == pytest.approx(stats.chi2.sf((18 - 7 - 1) ** 2 / 25, df=1))


def test_the_bootstrap_is_deterministic_for_a_seed_and_sized_like_the_standard_error():
    rng = np.random.default_rng(4)
    improvement = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.75, 0.15], size=2000)
    first = paired_bootstrap(improvement, n_resamples=1000, seed=9, confidence=0.95)
    assert first == paired_bootstrap(improvement, n_resamples=1000, seed=9, confidence=0.95)
    assert first != paired_bootstrap(improvement, n_resamples=1000, seed=10, confidence=0.95)
    expected_width = 2 * 1.96 * improvement.std() / np.sqrt(len(improvement))
    assert first[1] - first[0] == pytest.approx(expected_width, rel=0.15)
    assert first[0] < improvement.mean() < first[1]


def test_the_gate_is_reproducible_for_a_fixed_seed(rows):
    truth, candidate, champion = rows
    settings = GateSettings(n_resamples=500, seed=3)
    assert evaluate_gate(truth, candidate, champion, settings) == evaluate_gate(
        truth, candidate, champion, settings
    )


def test_no_rows_fail_with_a_reason():
    result = evaluate_gate([], [], [], GateSettings())
    assert not result.passed and "no labelled rows" in result.reason


def test_settings_are_validated_and_frozen():
    with pytest.raises(ValidationError):
        GateSettings(metric="roc_auc")
    with pytest.raises(ValidationError):
        GateSettings(alpha=1.5)
    with pytest.raises(ValidationError):
        GateSettings().min_effect = 0.1


def test_compatible_signatures_pass():
    signature = {"x0": "numeric", "segment": "categorical"}
    assert check_compatibility(signature, list(signature.items())) is None


@pytest.mark.parametrize(
    ("candidate", "fragment"),
    [
        ({"x0": "numeric", "x9": "categorical"}, "candidate lacks ['segment'], adds ['x9']"),
        ({"segment": "categorical", "x0": "numeric"}, "order differs"),
        ({"x0": "numeric", "segment": "numeric"}, "segment categorical -> numeric"),
    ],
)
def test_incompatible_signatures_say_why(candidate, fragment):
    reason = check_compatibility(candidate, {"x0": "numeric", "segment": "categorical"})
    assert reason is not None and fragment in reason


def holdout(only_candidate, only_champion, both=1200, neither=150):
    """A holdout on which exactly these many rows are right for one model only."""
    truth = np.ones(both + neither + only_candidate + only_champion, dtype=int)
    right = {"both": (1, 1), "neither": (0, 0), "cand": (1, 0), "champ": (0, 1)}
    counts = {"both": both, "neither": neither, "cand": only_candidate, "champ": only_champion}
    candidate = np.concatenate([np.full(counts[k], right[k][0] * 0.9 + 0.05) for k in right])
    champion = np.concatenate([np.full(counts[k], right[k][1] * 0.9 + 0.05) for k in right])
    return truth, candidate, champion


def gate(only_candidate, only_champion) -> GateResult:
    return evaluate_gate(*holdout(only_candidate, only_champion), GateSettings())


def test_a_small_gain_refused_on_each_holdout_passes_on_their_pooled_evidence():
    # one point better on each 1,495-row holdout: too little for any one of them alone
    refused = [gate(80, 65), gate(80, 65)]
    newest = gate(80, 65)
    assert not newest.passed and not any(r.passed for r in refused)
    pooled = pool_refusals(newest, refused, GateSettings())
    assert pooled.passed and pooled.pooled_refusals == 2
    assert "pooled with 2 refused comparison(s) against this champion (4485 rows)" in pooled.reason
    assert pooled.reason.endswith(": passes")
    # the verdict keeps the newest holdout's own figures
    assert (pooled.improvement, pooled.n) == (newest.improvement, newest.n)
    # one earlier refusal is not yet enough evidence; the result says so
    once = pool_refusals(newest, refused[:1], GateSettings())
    assert not once.passed and once.reason.endswith(": fails too")
    # a recorded verdict, read back from its details, pools the same way
    from dataclasses import asdict

    reread = [GateResult(**asdict(r)) for r in refused]
    assert pool_refusals(newest, reread, GateSettings()) == pooled


def test_pooling_never_passes_a_candidate_that_is_not_better_on_its_own_holdout():
    refused = [gate(120, 60), gate(120, 60)]  # earlier fresh models were clearly better
    worse = gate(60, 70)
    assert pool_refusals(worse, refused, GateSettings()) == worse
    # earlier comparisons the champion won keep a marginal candidate out
    lost = [gate(60, 90), gate(60, 90)]
    assert not pool_refusals(gate(80, 65), lost, GateSettings()).passed
    # nothing to pool with, or a pass already: unchanged
    assert pool_refusals(gate(80, 65), [], GateSettings()) == gate(80, 65)
    clear = gate(150, 60)
    assert clear.passed and pool_refusals(clear, refused, GateSettings()) == clear
