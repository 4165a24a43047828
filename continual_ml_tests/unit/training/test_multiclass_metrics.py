"""Multiclass metrics and the gate on string-labelled classes, against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, log_loss, roc_auc_score

from continual_ml.decisions.gate import GateSettings, evaluate_gate
from continual_ml.training.multiclass_metrics import as_class_indices, multiclass_report

CLASSES = ["low", "medium", "high"]


def model_proba(indices, accuracy, rng):
    """Class probabilities of a model whose most probable class is right on ~`accuracy` rows."""
    n, k = len(indices), len(CLASSES)
    correct = rng.random(n) < accuracy
    wrong = (indices + rng.integers(1, k, n)) % k
    top = np.where(correct, indices, wrong)
    proba = rng.dirichlet(np.ones(k), n) * 0.4
    proba[np.arange(n), top] += 0.6
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(5)
    indices = rng.integers(0, 3, 1500)
    labels = np.array(CLASSES, dtype=object)[indices]
    return labels, indices, model_proba(indices, 0.9, rng), model_proba(indices, 0.7, rng)


def test_report_agrees_with_scikit_learn(rows):
    labels, indices, candidate, _ = rows
    report = multiclass_report(labels, candidate, CLASSES)
    assert report["n"] == 1500
    assert report["accuracy"] == pytest.approx(np.mean(candidate.argmax(axis=1) == indices))
    assert report["macro_f1"] == pytest.approx(
        f1_score(indices, candidate.argmax(axis=1), average="macro")
    )
    assert report["log_loss"] == pytest.approx(log_loss(indices, candidate))
    assert report["roc_auc_ovr"] == pytest.approx(
        roc_auc_score(indices, candidate, multi_class="ovr")
    )
    assert np.sum(report["confusion_matrix"]) == 1500


def test_a_missing_class_leaves_auc_undefined_and_an_unknown_label_is_refused():
    proba = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]]
    report = multiclass_report(["low", "medium"], proba, CLASSES)
    assert report["accuracy"] == 1.0 and np.isnan(report["roc_auc_ovr"])
    with pytest.raises(ValueError, match=r"\['huge'\] are not among the classes"):
        as_class_indices(["low", "huge"], proba, CLASSES)
    with pytest.raises(ValueError, match="sum to 1"):
        as_class_indices(["low"], [[0.5, 0.1, 0.1]], CLASSES)


@pytest.mark.parametrize("metric", ["accuracy", "log_loss", "brier"])
def test_the_gate_passes_the_better_model_and_refuses_the_worse(rows, metric):
    labels, _, candidate, champion = rows
    settings = GateSettings(metric=metric)
    better = evaluate_gate(labels, candidate, champion, settings, classes=CLASSES)
    worse = evaluate_gate(labels, champion, candidate, settings, classes=CLASSES)
    assert better.passed and not worse.passed, (better.reason, worse.reason)
    assert worse.improvement == pytest.approx(-better.improvement)
    assert better.n == 1500 and better.mcnemar_p_value < 1e-6


def test_mcnemar_counts_rows_where_exactly_one_model_is_right(rows):
    labels, indices, candidate, champion = rows
    result = evaluate_gate(labels, candidate, champion, GateSettings(), classes=CLASSES)
    candidate_right = candidate.argmax(axis=1) == indices
    champion_right = champion.argmax(axis=1) == indices
    assert result.candidate_only_correct == int(np.sum(candidate_right & ~champion_right))
    assert result.champion_only_correct == int(np.sum(champion_right & ~candidate_right))
    assert result.candidate_value == pytest.approx(candidate_right.mean())
    loss = evaluate_gate(labels, candidate, champion, GateSettings(metric="log_loss"), CLASSES)
    assert loss.candidate_value == pytest.approx(log_loss(indices, candidate))
