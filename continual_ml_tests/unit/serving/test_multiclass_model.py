"""`GET /model` on a multiclass champion, through the service's app in process
(`Service.to_asgi()`, `support.in_process_service`).

The champion's metrics are those the holdout evaluation computes, undefined ones included (a
class the model never predicts has no precision): the answer must be strict JSON, each null
with its reason, with the per-class scores and the confusion matrix.
"""

import numpy as np
import pandas as pd
import pytest

from continual_ml.config import DatasetConfig
from continual_ml.training.class_probabilities import class_proba
from continual_ml.training.evaluation import class_report
from continual_ml.training.pipeline import fit_candidate
from continual_ml_tests.support.in_process_service import serving_user_champion
from continual_ml_tests.support.service_support import all_finite, strict_json
from continual_ml_tests.support.user_data import use_config

CLASSES = ["low", "medium", "high", "never"]  # "never" has no training row: never predicted


def cards(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    grade = np.where(x < -0.4, "low", np.where(x < 0.4, "medium", "high"))
    noisy = rng.random(n) < 0.2  # some rows mislabelled, so the scores are not all perfect
    grade[noisy] = rng.choice(["low", "medium", "high"], noisy.sum())
    return pd.DataFrame(
        {
            "x": x,
            "grade": grade,
            "event_time": pd.date_range("2026-01-01", periods=n, freq="min"),
            "row_id": [f"{seed}-{i}" for i in range(n)],
        }
    )


@pytest.fixture
def multiclass_service(home, tmp_path, monkeypatch):
    config = DatasetConfig.model_validate(
        {
            "name": "cards",
            "label": "grade",
            "classes": CLASSES,
            "features": [{"name": "x", "kind": "numeric"}],
        }
    )
    use_config(config, tmp_path / "cards.yaml", monkeypatch)
    model = fit_candidate(config, cards(600, seed=1))
    holdout = cards(200, seed=2)
    report = class_report(holdout["grade"], class_proba(model, config, holdout), CLASSES)
    details = {"metrics": report}
    logs = tmp_path / "logs"
    with serving_user_champion(home.bentoml_home, logs, config, model, details) as client:
        yield client


def test_model_answers_strict_json_with_per_class_scores_and_reasons(multiclass_service):
    answer = multiclass_service.get("/model")
    assert answer.status_code == 200, answer.text
    described = strict_json(answer.text)
    assert all_finite(described) and described["model_version"] == 1
    metrics = described["metrics"]
    assert 0.5 < metrics["accuracy"] < 1 and 0 < metrics["ece"] < 1
    # macro scores over the classes that define them; ROC-AUC needs the class never seen
    assert 0 < metrics["precision"] < 1 and 0 < metrics["recall"] < 1
    assert metrics["roc_auc"] is None and "never" in metrics["undefined"]["roc_auc"]
    by_class = {entry["class"]: entry for entry in metrics["per_class"]}
    assert list(by_class) == CLASSES
    assert by_class["never"]["precision"] is None and by_class["never"]["support"] == 0
    assert by_class["never"]["undefined"]["precision"] == "no row was predicted as this class"
    assert 0 < by_class["medium"]["f1"] < 1
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (4, 4) and matrix.sum() == 200 and matrix[3].sum() == 0
    assert matrix.sum(axis=1).tolist() == [by_class[c]["support"] for c in CLASSES]
