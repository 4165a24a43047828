"""The multiclass estimate before labels says whether its calibration can be trusted, and why."""

import numpy as np
import pytest

from continual_ml.monitoring.batch import monitor_batch
from continual_ml.monitoring.class_calibration import check_class_calibration, confidence_ece
from continual_ml.training.evaluation import evaluate_on_holdout
from continual_ml.training.pipeline import fit_candidate, serialize_model, split_window
from continual_ml_tests.support.iris import iris_config, iris_days


def rows_right_with_chance(
    chance: np.ndarray, seed: int, stated: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Three-class probabilities whose top class is right with probability `chance` and has
    the probability `stated` (`chance` by default: a calibrated model)."""
    stated = chance if stated is None else stated
    rng = np.random.default_rng(seed)
    n = len(chance)
    truth = rng.integers(0, 3, n)
    right = rng.random(n) < chance
    top = np.where(right, truth, (truth + rng.integers(1, 3, n)) % 3)
    proba = np.empty((n, 3))
    for column in range(3):
        proba[:, column] = np.where(top == column, stated, (1 - stated) / 2)
    return proba, truth


def test_a_calibrated_confidence_holds():
    chance = np.random.default_rng(1).uniform(0.4, 1.0, 600)
    check = check_class_calibration(*rows_right_with_chance(chance, seed=2))
    assert not check.poor and check.calibrated_ece <= check.chance_ece
    assert check.reason.startswith("calibration holds on 600 holdout rows")
    assert "assumes only the inputs moved" in check.reason


def test_an_overconfident_model_is_poor_raw_and_calibrated_on_the_holdout():
    chance = np.random.default_rng(3).uniform(0.4, 0.9, 600)
    # the model says more than it knows: its top probability is the square root of its chance
    proba, truth = rows_right_with_chance(chance, seed=4, stated=np.sqrt(chance))
    check = check_class_calibration(proba, truth)
    assert check.raw_ece > 0.1  # the raw confidence would overestimate accuracy
    assert not check.poor and check.calibrated_ece <= check.chance_ece
    assert abs(check.holdout_gap) < 0.03


def test_a_small_holdout_is_not_trusted_and_says_so():
    proba, truth = rows_right_with_chance(np.full(60, 0.8), seed=5)
    check = check_class_calibration(proba, truth)
    assert check.poor and np.isnan(check.calibrated_ece)
    assert check.reason.startswith("calibration unchecked: 60 holdout rows")


def test_confidence_ece_is_the_top_label_gap():
    assert confidence_ece(np.array([0.9, 0.8]), np.array([1.0, 0.0]), bins=2) == pytest.approx(0.35)


def test_before_labels_an_estimate_on_a_small_holdout_is_marked_unreliable():
    config = iris_config()
    history = iris_days("2026-03-01", 1, shift=0, seed=1)
    history["row_id"], history["event_time"] = history["flower_id"], history["measured_at"]
    history["partition_date"] = history["event_time"].dt.date
    split = split_window(history, 0.3)  # 72 rows: too few to calibrate on
    model = fit_candidate(config, split.train)
    artifact, sha256 = serialize_model(model)
    candidate = {"version": 1, "artifact": artifact, "sha256": sha256}
    holdout = evaluate_on_holdout(config, split.holdout, candidate, None).holdout
    today = iris_days("2026-03-02", 1, shift=0, seed=2).assign(grade=None)
    monitored = monitor_batch(config, model, holdout, split.train, today)
    assert monitored.realized is None  # no label yet
    assert monitored.reliability["unreliable"]
    assert "calibration unchecked: 72 holdout rows" in monitored.reliability["reason"]
