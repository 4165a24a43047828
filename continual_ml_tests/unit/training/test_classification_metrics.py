"""Metrics against hand-computed examples and scikit-learn; evaluation plots as PNG bytes."""

import io
import math

import matplotlib.image
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, log_loss

from continual_ml.training.classification_metrics import (
    SCALAR_METRICS,
    calibration_bins,
    classification_report,
    expected_calibration_error,
    per_slice,
)
from continual_ml.training.plots import (
    confusion_matrix_png,
    reliability_diagram_png,
    roc_curve_png,
)

# Six rows small enough to score by hand (threshold 0.5, ten bins of width 0.1):
#   predicted 1 0 1 0 1 0 -> tp rows 0, 2; fn row 3; fp row 4; tn rows 1, 5
#   bins: 0.92->9, 0.12->1, 0.64 and 0.68 -> 6, 0.36->3, 0.04->0
TRUTH = [1, 0, 1, 1, 0, 0]
PROBA = [0.92, 0.12, 0.64, 0.36, 0.68, 0.04]


def test_the_six_row_example_matches_the_hand_computation():
    report = classification_report(TRUTH, PROBA)
    assert report["n"] == 6
    assert report["confusion_matrix"] == [[2, 1], [1, 2]]
    for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1"):
        assert report[name] == pytest.approx(4 / 6 if name == "accuracy" else 2 / 3)
    # Squared errors 0.08², 0.12², 0.36², 0.64², 0.68², 0.04² sum to 1.024.
    assert report["brier"] == pytest.approx(1.024 / 6)
    # Singleton bins contribute |y - p| / 6 = (0.08 + 0.12 + 0.64 + 0.04) / 6; bin 6 holds two
    # rows with mean p 0.66 and observed rate 0.5, contributing (2 / 6) * 0.16.
    assert report["ece"] == pytest.approx((0.88 + 2 * 0.16) / 6)
    # Positive scores beat 7 of the 9 (positive, negative) pairs.
    assert report["roc_auc"] == pytest.approx(7 / 9)


def test_probability_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, 300)
    proba = np.clip(0.3 * truth + 0.7 * rng.random(300), 0, 1)
    report = classification_report(truth, proba)
    assert report["log_loss"] == pytest.approx(log_loss(truth, proba))
    assert report["pr_auc"] == pytest.approx(average_precision_score(truth, proba))
    assert report["accuracy"] == pytest.approx(np.mean((proba >= 0.5) == truth))


def test_the_threshold_moves_the_predictions():
    report = classification_report(TRUTH, PROBA, threshold=0.3)
    # At 0.3 the row with p=0.36 becomes a true positive.
    assert report["confusion_matrix"] == [[2, 1], [0, 3]]
    assert report["recall"] == 1.0


def test_ece_bins_are_half_open_and_one_lands_in_the_last_bin():
    # With two bins, 0.5 opens the upper bin [0.5, 1] rather than closing the lower one.
    bins = calibration_bins([0, 1, 1], [0.49, 0.5, 1.0], n_bins=2)
    assert bins.counts.tolist() == [1, 2]
    assert bins.mean_predicted.tolist() == pytest.approx([0.49, 0.75])
    assert bins.observed_rate.tolist() == [0.0, 1.0]
    assert expected_calibration_error([1, 1], [1.0, 1.0]) == 0.0


def test_one_class_gives_nan_instead_of_an_exception():
    negatives = classification_report([0, 0, 0], [0.1, 0.2, 0.7])
    for name in ("roc_auc", "pr_auc", "balanced_accuracy", "recall"):
        assert math.isnan(negatives[name]), name
    assert negatives["accuracy"] == pytest.approx(2 / 3)
    expected_loss = log_loss([0, 0, 0], [0.1, 0.2, 0.7], labels=[0, 1])
    assert negatives["log_loss"] == pytest.approx(expected_loss)
    positives = classification_report([1, 1], [0.1, 0.2])
    assert math.isnan(positives["roc_auc"]) and math.isnan(positives["precision"])
    empty = classification_report([], [])
    assert empty["n"] == 0 and all(math.isnan(empty[name]) for name in SCALAR_METRICS)


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="equal length"):
        classification_report([0, 1], [0.5])
    with pytest.raises(ValueError, match="labels 0 and 1"):
        classification_report([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        classification_report([0, 1], [0.5, 1.5])


def test_per_slice_scores_each_slice_on_its_own_rows():
    slices = ["north", "north", "north", None, "south", "south"]
    reports = per_slice(TRUTH, PROBA, slices)
    assert list(reports) == ["north", "south", None]
    north = [0, 1, 2]
    expected = classification_report([TRUTH[i] for i in north], [PROBA[i] for i in north])
    assert reports["north"] == expected
    # South holds only negatives: its ROC-AUC is undefined; one of its two rows is right.
    assert reports["south"]["accuracy"] == 0.5 and math.isnan(reports["south"]["roc_auc"])
    assert reports[None]["n"] == 1
    assert sum(report["n"] for report in reports.values()) == len(TRUTH)


def test_per_slice_keys_are_plain_python_values():
    reports = per_slice(TRUTH, PROBA, np.array([2, 1, 1, 2, 2, 1]))
    assert list(reports) == [1, 2] and all(type(key) is int for key in reports)


@pytest.fixture(scope="module")
def scored_rows():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 400)
    candidate = np.clip(0.6 * truth + 0.4 * rng.random(400), 0, 1)
    return truth, candidate, rng.random(400)


@pytest.mark.parametrize("plot", [roc_curve_png, reliability_diagram_png, confusion_matrix_png])
def test_each_plot_is_a_small_decodable_png_that_draws_the_champion(plot, scored_rows):
    truth, candidate, champion = scored_rows
    alone, compared = plot(truth, candidate), plot(truth, candidate, champion)
    for png in (alone, compared):
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        image = matplotlib.image.imread(io.BytesIO(png))
        height, width = image.shape[:2]
        assert 0 < height <= 400 and 0 < width <= 800
        # Not a blank canvas: some pixels are darker than the white background.
        assert (image[..., :3] < 0.5).any()
    assert alone != compared


def test_the_roc_plot_survives_a_single_class():
    png = roc_curve_png([0, 0, 0], [0.1, 0.4, 0.6], [0.2, 0.3, 0.9])
    assert matplotlib.image.imread(io.BytesIO(png)).size > 0
