"""A three-class dataset with text labels through the whole loop: ingested from files, the first
champion trained, a challenger gated (paired on per-row correctness) and promoted, the day
monitored, the champion served over HTTP by the real service, and feedback given as text."""

import dagster as dg
import duckdb
import httpx
import pandas as pd
import pytest

from continual_ml.app import cli
from continual_ml.app.cli.up import bootstrap
from continual_ml.app.first_champion import QUIET_RUN_CONFIG, bound_definitions
from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.models.store import read_pointer
from continual_ml.monitoring.served_traffic import served_performance
from continual_ml_tests.support.iris import CLASSES, iris_config, iris_days
from continual_ml_tests.support.materialized import day_measured
from continual_ml_tests.support.service_support import ingest_service_logs, scored_csv
from continual_ml_tests.support.user_data import use_config


@pytest.fixture
def iris_home(home, config, tmp_path, monkeypatch):
    """The user's config in CONTINUAL_ML_CONFIG (the demo's default is requested first)."""
    settings = use_config(iris_config(), tmp_path / "iris.yaml", monkeypatch)
    return settings


def registry_rows(home):
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(
            "SELECT version, status FROM model_registry ORDER BY version"
        ).fetchall()


def test_three_text_classes_are_trained_gated_promoted_monitored_and_served(
    home, iris_home, tmp_path
):
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    iris_days("2026-03-01", 3, shift=0, seed=1).to_csv(before, index=False)
    iris_days("2026-03-04", 3, shift=1, seed=2).to_csv(after, index=False)
    assert cli.main(["ingest", str(before)]) == 0
    bootstrap(home, iris_home, lambda line: None)
    assert registry_rows(home) == [(1, "champion")]

    assert cli.main(["ingest", str(after)]) == 0
    definitions = bound_definitions(home)
    with dg.DagsterInstance.get() as instance:
        retrain = definitions.resolve_job_def("retrain_job").execute_in_process(
            partition_key="2026-03-06", instance=instance, run_config=QUIET_RUN_CONFIG
        )
        assert retrain.success
        # the day's rows came in through `ingest`: measure them, drift and performance
        monitoring = day_measured(home, instance, "2026-03-06")
        assert monitoring.success
    assert registry_rows(home) == [(1, "retired"), (2, "champion")]
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        passed, reason = conn.execute(
            "SELECT passed, reason FROM gate_results WHERE candidate_version = 2"
        ).fetchone()
        scores = conn.execute(
            "SELECT role, accuracy, f1, roc_auc, log_loss FROM evaluation_scores "
            "WHERE candidate_version = 2 AND slice = 'all' ORDER BY role"
        ).fetchall()
        realized = conn.execute(
            "SELECT realized_accuracy, estimated_accuracy FROM performance_history "
            "WHERE partition_date = '2026-03-06'"
        ).fetchone()
    assert passed and "McNemar" in reason, reason
    (_, candidate_accuracy, macro_f1, auc, loss), (_, champion_accuracy, *_) = scores
    assert candidate_accuracy > 0.9 and champion_accuracy < 0.1
    assert macro_f1 > 0.9 and auc > 0.95 and 0 < loss < 0.5
    assert realized[0] > 0.9 and 0 < realized[1] <= 1

    assert read_pointer(home.bentoml_home)["version"] == 2
    with ServiceProcess(home.bentoml_home, tmp_path / "service.log", home.prediction_logs) as svc:
        # what the promotion exported: the registry's JSON-safe metrics, per class too
        described = httpx.get(f"{svc.url}/model", timeout=30)
        assert described.status_code == 200, described.text
        metrics = described.json()["metrics"]
        assert [c["class"] for c in metrics["per_class"]] == CLASSES and metrics["precision"] > 0.9
        row = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
        answer = httpx.post(f"{svc.url}/predict", json={"features": row}, timeout=30).json()
        assert list(answer["probabilities"]) == CLASSES
        assert answer["predicted_class"] == "low"  # virginica, shifted to the next class's name
        assert sum(answer["probabilities"].values()) == pytest.approx(1)
        feedback = {"items": [{"prediction_id": answer["prediction_id"], "label": "low"}]}
        assert httpx.post(f"{svc.url}/feedback", json=feedback, timeout=30).json() == {
            "accepted": 1
        }
        wrong = {"items": [{"prediction_id": answer["prediction_id"], "label": "huge"}]}
        assert httpx.post(f"{svc.url}/feedback", json=wrong, timeout=30).status_code == 400
        table = pd.DataFrame([row, {**row, "petal_width": "wide"}])
        with httpx.Client(base_url=svc.url, timeout=30) as client:
            first, refused = scored_csv(client, table).to_dict("records")
        assert (first["predicted_class"], first["model_version"]) == ("low", 2)
        assert first["probability_low"] == pytest.approx(answer["probabilities"]["low"])
        assert pd.isna(refused["predicted_class"]) and "petal_width" in refused["error"]

    # the service's logs (/predict and the file's valid row, text labels and all) land as any do
    logs = ingest_service_logs(home.prediction_logs)
    assert [log.name.split("-")[0] for log in logs] == ["predictions", "feedback"]
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        served = served_performance(conn)
        predicted = conn.execute(
            "SELECT predicted_class, label FROM labelled_predictions"
        ).fetchall()
    assert predicted == [("low", "low")]
    assert served[["model_version", "n_predictions", "n_labelled", "realized_accuracy"]].to_dict(
        "records"
    ) == [{"model_version": 2, "n_predictions": 2, "n_labelled": 1, "realized_accuracy": 1.0}]
