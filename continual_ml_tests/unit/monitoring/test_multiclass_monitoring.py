"""Monitoring and serving a three-class text-labelled model: CBPE on the confidence, drift of
the predicted class's shares, probabilities in the config's class order."""

import numpy as np
import pandas as pd
import pytest

from continual_ml.monitoring.batch import estimated_accuracy, monitor_batch
from continual_ml.serving.follower import ChampionFollower, predict_rows
from continual_ml.training.class_probabilities import class_proba
from continual_ml.training.evaluation import evaluate_on_holdout
from continual_ml.training.pipeline import fit_candidate, serialize_model, split_window
from continual_ml_tests.support.exported_models import export_champion
from continual_ml_tests.support.iris import CLASSES, iris_config, iris_days


@pytest.fixture(scope="module")
def champion():
    """A model on three iris days, its stored holdout predictions, and two later days."""
    config = iris_config()
    history = iris_days("2026-03-01", 3, shift=0, seed=1)
    history["row_id"], history["event_time"] = history["flower_id"], history["measured_at"]
    history["partition_date"] = history["event_time"].dt.date
    split = split_window(history, 0.3, min_rows=360)  # a holdout big enough to calibrate on
    model = fit_candidate(config, split.train)
    artifact, sha256 = serialize_model(model)
    candidate = {"version": 1, "artifact": artifact, "sha256": sha256}
    holdout = evaluate_on_holdout(config, split.holdout, candidate, None).holdout
    return config, model, holdout, split.train, artifact, sha256


def test_the_estimate_tracks_realized_accuracy_until_the_concept_shifts(champion):
    config, model, holdout, reference, *_ = champion
    same = iris_days("2026-03-04", 1, shift=0, seed=3)
    shifted = iris_days("2026-03-04", 1, shift=1, seed=3)
    steady = monitor_batch(config, model, holdout, reference, same)
    assert steady.realized["accuracy"] > 0.9
    assert abs(steady.estimated["accuracy"] - steady.realized["accuracy"]) < 0.05
    assert not steady.reliability["unreliable"] and not steady.prediction_drift.drifted
    moved = monitor_batch(config, model, holdout, reference, shifted)
    assert moved.realized["accuracy"] < 0.1 and moved.reliability["unreliable"]
    # the same inputs and, iris being balanced, the same class shares: only the labels tell
    assert not moved.prediction_drift.drifted and not moved.label_drift.drifted
    without_labels = monitor_batch(config, model, holdout, reference, same.assign(grade=None))
    assert without_labels.realized is None and without_labels.n_labelled == 0
    assert estimated_accuracy(config, model, holdout, same) == pytest.approx(
        steady.estimated["accuracy"]
    )


def test_prediction_drift_is_a_change_in_the_predicted_class_s_shares(champion):
    config, model, holdout, reference, *_ = champion
    day = iris_days("2026-03-04", 1, shift=0, seed=4)
    only_one_kind = day[day["petal_length"] > 4.8]  # mostly the last iris species
    assert monitor_batch(config, model, holdout, reference, only_one_kind).prediction_drift.drifted


def test_probabilities_are_in_the_config_s_order_not_scikit_learn_s(champion, tmp_path):
    config, model, _, _, artifact, sha256 = champion
    assert list(model.classes_) == ["high", "low", "medium"]
    row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    raw = model.predict_proba(pd.DataFrame([row]))[0]
    ordered = class_proba(model, config, pd.DataFrame([row]))[0]
    assert ordered.tolist() == [raw[1], raw[2], raw[0]]
    export_champion(tmp_path, config, 1, artifact, sha256)
    follower = ChampionFollower(tmp_path, config)
    assert follower.refresh(), follower.last_error
    assert follower.current.fast is None  # the linear fast scorer is binary only
    [answer] = predict_rows(follower.current, config, [row])
    assert answer["predicted_class"] == "low"  # setosa
    assert answer["probabilities"] == dict(zip(CLASSES, ordered.tolist(), strict=True))


def test_a_class_missing_from_the_training_window_gets_probability_zero(champion):
    config, *_ = champion
    rows = iris_days("2026-03-01", 1, shift=0, seed=5)
    rows = rows[rows["grade"] != "high"].assign(row_id=lambda r: r["flower_id"])
    rows["event_time"] = rows["measured_at"]
    model = fit_candidate(config, rows)
    proba = class_proba(model, config, rows)
    assert np.all(proba[:, 2] == 0) and np.allclose(proba.sum(axis=1), 1)


def test_integer_classes_beyond_two_are_served_as_integers(tmp_path):
    config = iris_config().model_copy(update={"classes": (2, 0, 1)})
    rows = iris_days("2026-03-01", 2, shift=0, seed=6)
    rows["grade"] = rows["grade"].map({"low": 0, "medium": 1, "high": 2})
    rows = rows.assign(row_id=rows["flower_id"], event_time=rows["measured_at"])
    rows["partition_date"] = rows["event_time"].dt.date
    split = split_window(rows, 0.3)
    artifact, sha256 = serialize_model(fit_candidate(config, split.train))
    candidate = {"version": 1, "artifact": artifact, "sha256": sha256}
    evaluation = evaluate_on_holdout(config, split.holdout, candidate, None)
    assert evaluation.candidate_report["accuracy"] > 0.9
    export_champion(tmp_path, config, 1, artifact, sha256)
    follower = ChampionFollower(tmp_path, config)
    assert follower.refresh(), follower.last_error
    row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    [answer] = predict_rows(follower.current, config, [row])
    assert answer["predicted_class"] == 0 and list(answer["probabilities"]) == ["2", "0", "1"]
