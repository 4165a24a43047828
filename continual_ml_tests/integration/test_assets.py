"""The assets materialized for real: DuckDB file, MLflow store and BentoML store under tmp_path."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from continual_ml.config import MLFLOW_EXPERIMENT
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_explanation, drift_report
from continual_ml.defs.partitions import WAREHOUSE_POOL
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.defs.training.checks import candidate_beats_champion
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.models.store import SERVED_MODEL_NAME, read_pointer
from continual_ml_tests.support.materialized import metadata, query
from continual_ml_tests.support.synthetic_days import materialize_day

MONITORING = [observations, current_window, reference_window, drift_report, drift_explanation]
RETRAIN = [candidate_model, evaluation_scores, candidate_beats_champion, champion_model]


run = materialize_day


def gate_verdict(result):
    [evaluation] = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    return evaluation.passed, {k: v.value for k, v in evaluation.metadata.items()}


@pytest.fixture
def first_champion(home, config, instance):
    """Three days landed and the first model trained and promoted on them."""
    for index in range(3):
        run(
            [observations, current_window, reference_window],
            partition_date(config, index),
            home,
            instance,
        )
    return run(RETRAIN, partition_date(config, 2), home, instance)


def test_observations_land_one_partition_per_day(home, config, instance):
    day = partition_date(config, 0)
    result = run([observations], day, home, instance)
    run([observations], day, home, instance)  # landed again: ingested once, not appended
    assert metadata(result, observations)["dagster/row_count"] == config.stream.rows_per_day
    [(n, days, batches)] = query(
        home,
        "SELECT count(*), count(DISTINCT partition_date), count(DISTINCT batch_id) "
        "FROM observations",
    )
    assert (n, days, batches) == (config.stream.rows_per_day, 1, 1)


def test_the_first_candidate_is_tracked_stored_promoted_and_exported(home, config, first_champion):
    trained = metadata(first_champion, candidate_model)
    assert trained["model_version"] == 1
    assert (
        trained["training_window"] == f"{partition_date(config, 0)} .. {partition_date(config, 2)}"
    )
    [(sha256, size, start, end, status)] = query(
        home,
        "SELECT sha256, octet_length(artifact), training_start, training_end, status "
        "FROM model_registry",
    )
    assert status == "champion"
    assert sha256 == trained["sha256"] and size > 1_000
    assert (start, end) == (partition_date(config, 0), partition_date(config, 2))

    client = MlflowClient(home.mlflow_tracking_uri)
    mlflow_run = client.get_run(trained["mlflow_run_id"])
    assert mlflow_run.data.params["training_end"] == str(partition_date(config, 2))
    scores = metadata(first_champion, evaluation_scores)
    assert mlflow_run.data.metrics["holdout_accuracy"] == pytest.approx(
        scores["candidate_accuracy"]
    )
    assert mlflow_run.data.params["data_sha256"] == trained["data_sha256"]
    assert mlflow_run.data.tags["dagster_run_url"].endswith(first_champion.run_id)
    # the run's page, in MLflow's runs view (`?workflowType=machine_learning`)
    assert trained["mlflow_run"].split("?")[0].endswith(f"/runs/{mlflow_run.info.run_id}")
    artifacts = {a.path for a in client.list_artifacts(mlflow_run.info.run_id, "evaluation")}
    assert artifacts == {
        "evaluation/roc.png",
        "evaluation/holdout_report.json",
        "evaluation/calibration.png",
        "evaluation/confusion_matrix.png",
    }
    alias = client.get_model_version_by_alias("continual-ml", "champion")
    assert alias.run_id == mlflow_run.info.run_id
    assert mlflow_run.data.tags["dagster_run_id"] == first_champion.run_id
    assert mlflow_run.info.status == "FINISHED"
    [logged] = client.search_logged_models(
        experiment_ids=[client.get_experiment_by_name(MLFLOW_EXPERIMENT).experiment_id]
    )
    assert logged.source_run_id == mlflow_run.info.run_id
    assert Path(home.mlflow_artifacts).exists()

    decision = metadata(first_champion, champion_model)
    assert (decision["decision"], decision["champion_version"]) == ("promoted", 1)
    assert query(home, "SELECT action, champion_version, actor FROM promotions") == [
        ("promoted", 1, "dagster:__ephemeral_asset_job__")
    ]
    assert read_pointer(home.bentoml_home)["version"] == 1
    exported = list((home.bentoml_home / "models" / SERVED_MODEL_NAME).iterdir())
    assert [p.name.split("-")[0] for p in exported if p.name != "latest"] == ["v1"]
    passed, gate = gate_verdict(first_champion)
    assert passed and gate["decision"] == "promote" and gate["champion_version"] == "none"
    assert gate["reason"] == "no champion yet: the first model is promoted"


def test_an_identical_challenger_is_scored_on_the_same_holdout_and_rejected(
    home, config, instance, first_champion
):
    # Refusing is the gate doing its job: the run succeeds and the decision is recorded.
    result = run(RETRAIN, partition_date(config, 2), home, instance)
    scores = metadata(result, evaluation_scores)
    assert scores["candidate_accuracy"] == scores["champion_accuracy"]
    assert "roc" in scores["plots"] and "data:image/png;base64" in scores["plots"]
    assert list(scores)[0] == "plots"  # the UI lists entries in order: the plots on top
    passed, gate = gate_verdict(result)
    assert not passed and gate["decision"] == "reject"
    assert gate["improvement"] == 0.0 and gate["mcnemar_p_value"] == 1.0
    [check] = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert check.severity == dg.AssetCheckSeverity.WARN  # a warning, not a red error
    decision = metadata(result, champion_model)
    assert decision["decision"] == "rejected" and decision["champion_version"] == 1
    assert decision["reason"] == gate["reason"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(home.mlflow_tracking_uri)
    [rejected] = client.search_model_versions("tags.decision = 'rejected'")
    assert rejected.tags["reason"] == gate["reason"]
    run_names = {
        r.info.run_name: (r.data.tags["decision"], r.data.tags["status"], r.data.tags["champion"])
        for r in client.search_runs(
            [client.get_experiment_by_name(MLFLOW_EXPERIMENT).experiment_id]
        )
    }
    day = partition_date(config, 2)
    assert run_names == {  # names say which model; the tags say where it stands now
        f"v1 {config.model.family} {day}": ("promoted", "champion", "true"),
        f"v2 {config.model.family} {day}": ("rejected", "rejected", "false"),
    }
    assert rejected.tags["status"] == "rejected"
    rows = query(
        home,
        "SELECT role, model_version, n FROM evaluation_scores "
        "WHERE candidate_version = 2 AND slice = 'all' ORDER BY role",
    )
    assert rows == [("candidate", 2, 600), ("champion", 1, 600)]
    slices = query(home, "SELECT DISTINCT slice FROM evaluation_scores ORDER BY slice")
    assert [s for (s,) in slices] == ["all", "east", "north", "south", "west"]
    assert query(home, "SELECT version, status FROM model_registry ORDER BY version") == [
        (1, "champion"),
        (2, "rejected"),
    ]
    assert query(home, "SELECT action, champion_version FROM promotions ORDER BY id") == [
        ("promoted", 1),
        ("rejected", 1),
    ]
    assert read_pointer(home.bentoml_home)["version"] == 1


def test_drift_report_stores_scores_and_links_its_html(home, config, instance, first_champion):
    drift_day = partition_date(config, config.stream.drift_day)
    result = run(MONITORING, drift_day, home, instance)
    report = metadata(result, drift_report)
    assert report["drift_share"] == pytest.approx(4 / 6)
    assert report["reference_champion"] == 1
    assert (
        Path(report["report"]).read_text().lower().startswith("<!doctype html")
        or Path(report["report"]).stat().st_size > 10_000
    )
    assert "x0" in report["top_features"]
    drifted = query(
        home,
        "SELECT feature FROM drift_scores WHERE partition_date = ? AND drifted ORDER BY feature",
        [drift_day],
    )
    assert [f for (f,) in drifted] == ["segment", "x0", "x1", "x2"]
    [(share,)] = query(
        home, "SELECT drift_share FROM drift_reports WHERE partition_date = ?", [drift_day]
    )
    assert share == pytest.approx(4 / 6)


def test_a_retrain_after_drift_is_promoted_and_becomes_the_reference(
    home, config, instance, first_champion
):
    drift_day = config.stream.drift_day
    for index in range(drift_day - 1, drift_day + 2):
        run([observations], partition_date(config, index), home, instance)
    result = run(RETRAIN, partition_date(config, drift_day + 1), home, instance)
    scores = metadata(result, evaluation_scores)
    assert scores["candidate_accuracy"] > scores["champion_accuracy"] + 0.2
    passed, gate = gate_verdict(result)
    assert passed and gate["ci_low"] > 0 and gate["mcnemar_p_value"] < 0.05
    assert metadata(result, champion_model)["champion_version"] == 2
    assert query(home, "SELECT version, status FROM model_registry ORDER BY version") == [
        (1, "retired"),
        (2, "champion"),
    ]
    next_day = partition_date(config, drift_day + 2)
    run([observations], next_day, home, instance)
    reference = metadata(run([reference_window], next_day, home, instance), reference_window)
    assert reference["champion_version"] == 2
    assert reference["window"] == (
        f"{partition_date(config, drift_day - 1)} .. {partition_date(config, drift_day + 1)}"
    )


def test_drift_explanation_renders_from_samples_without_the_warehouse(
    home, config, instance, first_champion
):
    """Evidently's seconds never hold the one DuckDB writer: the explanation takes no warehouse
    slot and renders while another process holds the DuckDB file open for writing."""
    drift_day = partition_date(config, config.stream.drift_day)
    run(MONITORING[:-1], drift_day, home, instance)
    assert drift_explanation.op.pool is None
    assert drift_report.op.pool == WAREHOUSE_POOL
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(120)",
            str(home.warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run([drift_explanation], drift_day, home, instance)
        # A day monitoring never sampled is said so, not rendered from nowhere.
        unsampled = run([drift_explanation], partition_date(config, 0), home, instance)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    explained = metadata(result, drift_explanation)
    assert Path(explained["report"]).stat().st_size > 10_000
    assert explained["evidently_drifted"]  # the drift day drifts in Evidently's eyes too
    assert metadata(unsampled, drift_explanation)["report"].startswith("not rendered: no sample")
