"""Confidence-based estimates against hand computations, sampled labels and the synthetic stream."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.metrics import roc_auc_score

from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.monitoring.performance_estimation import (
    ESTIMATED_METRICS,
    estimate_performance,
    estimation_error,
    expected_roc_auc,
    fit_calibration,
    realized_performance,
    reliability,
)
from continual_ml.training.classification_metrics import classification_report
from continual_ml.training.pipeline import fit_candidate, split_window

# Four rows scored by hand at threshold 0.5: predictions 1 0 1 0, so each row is right with
# probability 0.9, 0.8, 0.6, 0.6. Expected tp = 0.9 + 0.6, fp = 0.1 + 0.4, fn = 0.2 + 0.4,
# tn = 0.8 + 0.6.
PROBA = [0.9, 0.2, 0.6, 0.4]


def test_the_four_row_example_matches_the_hand_computation():
    estimate = estimate_performance(PROBA)
    assert estimate["n"] == 4
    assert estimate["accuracy"] == pytest.approx((0.9 + 0.8 + 0.6 + 0.6) / 4)
    assert np.allclose(estimate["confusion_matrix"], [[1.4, 0.5], [0.6, 1.5]])
    assert estimate["precision"] == pytest.approx(1.5 / 2.0)
    assert estimate["recall"] == pytest.approx(1.5 / 2.1)
    assert estimate["f1"] == pytest.approx(3.0 / 4.1)
    # Pairs (higher score, lower score) weighted by p_high * (1 - p_low):
    #   0.4>0.2: .32; 0.6>0.2, 0.4: .48 + .36; 0.9>0.2, 0.4, 0.6: .72 + .54 + .36 -> 2.78,
    # over all ordered pairs of distinct rows: 2.1 * 1.9 - sum p (1 - p) = 3.99 - 0.73.
    assert estimate["roc_auc"] == pytest.approx(2.78 / 3.26)


def test_the_threshold_moves_the_predictions_not_the_probabilities():
    estimate = estimate_performance(PROBA, threshold=0.3)
    # At 0.3 the row with p = 0.4 is predicted 1 and is right with probability 0.4, not 0.6.
    assert estimate["accuracy"] == pytest.approx((0.9 + 0.8 + 0.6 + 0.4) / 4)
    assert estimate["roc_auc"] == pytest.approx(estimate_performance(PROBA)["roc_auc"])


def test_expected_roc_auc_is_the_mean_auc_of_labels_sampled_from_the_probabilities():
    rng = np.random.default_rng(5)
    proba = rng.beta(2, 3, 500)
    sampled = [roc_auc_score(rng.random(500) < proba, proba) for _ in range(300)]
    # 300 draws leave a standard error of about 0.001 on the mean.
    assert expected_roc_auc(proba, proba) == pytest.approx(np.mean(sampled), abs=0.005)
    # Tied scores count half, as roc_auc_score counts them.
    assert expected_roc_auc([0.5, 0.5], [1.0, 0.0]) == pytest.approx(0.5)


def test_an_empty_batch_gives_nan_estimates():
    estimate = estimate_performance([])
    assert estimate["n"] == 0
    assert all(math.isnan(estimate[name]) for name in ESTIMATED_METRICS)


def test_realized_performance_reports_the_same_keys_as_the_estimate():
    truth = [1, 0, 0, 0]  # predictions 1 0 1 0: three of four right
    realized = realized_performance(PROBA, truth)
    assert realized.keys() == estimate_performance(PROBA).keys()
    report = classification_report(truth, PROBA)
    assert all(realized[name] == report[name] for name in ESTIMATED_METRICS)
    error = estimation_error(estimate_performance(PROBA), realized)
    assert error["accuracy"] == pytest.approx(abs(0.725 - 0.75))


def _overconfident_sample(rng, n):
    """Labels drawn from true probabilities, and a model that pushes them towards 0 and 1."""
    true_proba = rng.beta(2, 2, n)
    truth = (rng.random(n) < true_proba).astype(int)
    return expit(3 * logit(true_proba)), truth


def test_calibration_corrects_an_overconfident_model():
    rng = np.random.default_rng(11)
    reference_proba, reference_truth = _overconfident_sample(rng, 20_000)
    proba, truth = _overconfident_sample(rng, 20_000)
    calibrator = fit_calibration(reference_proba, reference_truth)
    realized = realized_performance(proba, truth)
    trusted = estimation_error(estimate_performance(proba), realized)
    calibrated = estimation_error(estimate_performance(proba, calibrator), realized)
    for name in ESTIMATED_METRICS:
        assert trusted[name] > 0.1
        assert calibrated[name] < 0.02
    assert calibrator.predict([0.0, 1.0]).tolist() == pytest.approx([1e-6, 1 - 1e-6], abs=1e-3)


def test_reliability_waits_for_labels_and_allows_for_small_batches():
    assert not reliability(estimate_performance(PROBA), realized_performance([], []))["unreliable"]
    estimated = {"accuracy": 0.9, "n": 50}
    # 0.06 off on 50 rows is within three standard errors (3 * sqrt(0.09 / 50) = 0.127) ...
    assert not reliability(estimated, {"accuracy": 0.84, "n": 50})["unreliable"]
    # ... and far outside them on 5000 rows.
    verdict = reliability(estimated, {"accuracy": 0.84, "n": 5000})
    assert verdict["unreliable"]
    assert verdict["accuracy_gap"] == pytest.approx(0.06)
    assert "calibration no longer holds" in verdict["reason"]


def _days(config, indices) -> pd.DataFrame:
    frames = []
    for index in indices:
        rows = generate_batch(config, partition_date(config, index))
        rows["partition_date"] = partition_date(config, index)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _model_and_calibrator(config):
    """A model trained on the first pre-drift days, calibrated on its own holdout."""
    split = split_window(_days(config, range(config.model.training_window_days)), 0.3)
    model = fit_candidate(config, split.train)

    def proba(rows):
        return model.predict_proba(rows[config.feature_names])[:, 1]

    return proba, fit_calibration(proba(split.holdout), split.holdout[config.label])


# Covariate shifts as weights on the features alone: sampling pre-drift rows by them moves the
# feature distribution while every label still follows the pre-drift rule.
COVARIATE_SHIFTS = {
    "x0 high": lambda rows: np.exp(1.5 * rows["x0"]),
    "as is": lambda rows: np.ones(len(rows)),
    "x0 near zero": lambda rows: np.exp(-2.0 * rows["x0"] ** 2),
    "x0 and x1 near zero": lambda rows: np.exp(-1.5 * (rows["x0"] ** 2 + rows["x1"] ** 2)),
}


def test_under_covariate_shift_the_estimate_tracks_the_realized_accuracy(config):
    proba, calibrator = _model_and_calibrator(config)
    first_unseen = config.model.training_window_days
    larger = config.stream.model_copy(update={"rows_per_day": 8000})
    # Days the model never saw, all before the drift: the rule that labels them is unchanged.
    pool_days = range(first_unseen, config.stream.drift_day)
    pool = _days(config.model_copy(update={"stream": larger}), pool_days)
    rng = np.random.default_rng(0)
    realized_accuracy = []
    for name, weigh in COVARIATE_SHIFTS.items():
        weights = np.asarray(weigh(pool), dtype=float)
        rows = pool.iloc[rng.choice(len(pool), 3000, replace=False, p=weights / weights.sum())]
        estimated = estimate_performance(proba(rows), calibrator)
        realized = realized_performance(proba(rows), rows[config.label])
        error = estimation_error(estimated, realized)
        assert error["accuracy"] < 0.02, name
        assert error["roc_auc"] < 0.02, name
        assert not reliability(estimated, realized)["unreliable"], name
        realized_accuracy.append(realized["accuracy"])
    # The shifts matter: the accuracy the estimate followed moved well beyond its error.
    assert max(realized_accuracy) - min(realized_accuracy) > 0.04


def test_under_concept_drift_the_estimate_is_flagged_unreliable(config):
    proba, calibrator = _model_and_calibrator(config)
    drift_day = config.stream.drift_day
    for index in range(drift_day, drift_day + 3):
        rows = generate_batch(config, partition_date(config, index))
        estimated = estimate_performance(proba(rows), calibrator)
        realized = realized_performance(proba(rows), rows[config.label])
        assert estimated["accuracy"] - realized["accuracy"] > 0.3
        verdict = reliability(estimated, realized)
        assert verdict["unreliable"]
        assert verdict["accuracy_gap"] == pytest.approx(
            estimated["accuracy"] - realized["accuracy"]
        )
