"""`evaluation_scores`' metadata and MLflow record for a multiclass candidate and champion:
per-class tables, confusion matrices, and no NaN anywhere (undefined scores named instead)."""

import json
import math
import shutil

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from continual_ml.config import DatasetConfig
from continual_ml.defs.training.evaluation_metadata import evaluation_metadata
from continual_ml.training.evaluation import evaluate_on_holdout
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml.training.tracking import log_evaluation

CLASSES = ["low", "medium", "high", "never"]  # "never" is in no row: never predicted


def rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    grade = np.where(x < -0.4, "low", np.where(x < 0.4, "medium", "high"))
    return pd.DataFrame(
        {
            "x": x + rng.normal(scale=0.3, size=n),
            "grade": grade,
            "event_time": pd.date_range("2026-01-01", periods=n, freq="min"),
            "row_id": [f"{seed}-{i}" for i in range(n)],
        }
    )


@pytest.fixture(scope="module")
def evaluation():
    config = DatasetConfig.model_validate(
        {
            "name": "cards",
            "label": "grade",
            "classes": CLASSES,
            "features": [{"name": "x", "kind": "numeric"}],
        }
    )

    def model_row(version, seed):
        artifact, sha256 = serialize_model(fit_candidate(config, rows(300, seed)))
        return {"version": version, "artifact": artifact, "sha256": sha256}

    candidate, champion = model_row(2, 1), model_row(1, 2)
    holdout = rows(150, seed=3)
    return candidate, champion, evaluate_on_holdout(config, holdout, candidate, champion)


def test_per_class_scores_are_in_the_evaluation_and_its_table(evaluation):
    _, _, result = evaluation
    scores = result.class_scores
    assert sorted(scores["role"].unique()) == ["candidate", "champion"]
    assert scores.groupby("role")["class"].apply(list).tolist() == [CLASSES, CLASSES]
    never = scores[scores["class"] == "never"]
    assert never["precision"].isna().all() and (never["support"] == 0).all()
    assert scores.groupby("role")["support"].sum().tolist() == [150, 150]


def test_metadata_has_class_tables_and_no_nan(evaluation, tmp_path):
    candidate, champion, result = evaluation
    metadata = evaluation_metadata(result, candidate, champion, {})
    numbers = [v for v in metadata.values() if isinstance(v, float)]
    assert numbers and all(math.isfinite(v) for v in numbers)
    assert "candidate_roc_auc" not in metadata  # undefined: "never" is not in the holdout
    assert "candidate roc_auc: needs every class" in metadata["undefined_metrics"].value
    table = metadata["per_class_scores"].value
    assert "| never | candidate | n/a |" in table and "no row was predicted" in table
    assert "nan" not in metadata["scores"].value and "n/a" in metadata["scores"].value
    matrix = metadata["candidate_confusion_matrix"].value
    assert matrix.splitlines()[0] == "| true \\ predicted | low | medium | high | never |"
    assert all(isinstance(v, dg.MetadataValue | int | float | str) for v in metadata.values())


def test_mlflow_gets_finite_per_class_metrics_and_the_report(evaluation, empty_mlflow_db, tmp_path):
    _, _, result = evaluation
    shutil.copyfile(empty_mlflow_db, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("evaluation", artifact_location=str(tmp_path / "runs"))
    run = client.create_run(experiment)
    log_evaluation(uri, run.info.run_id, result.candidate_report, {})
    logged = client.get_run(run.info.run_id).data.metrics
    assert logged["holdout_precision"] == pytest.approx(result.candidate_report["precision"])
    assert "holdout_class_medium_f1" in logged and "holdout_class_never_precision" not in logged
    assert "holdout_roc_auc" not in logged
    path = tmp_path / "runs" / run.info.run_id / "artifacts" / "evaluation" / "holdout_report.json"
    report = json.loads(path.read_text(), parse_constant=lambda token: 1 / 0)
    assert report["confusion_matrix"] == result.candidate_report["confusion_matrix"]
    assert report["undefined"]["roc_auc"].startswith("needs every class")
