"""A numeric target through the loop: ingested from files, the first champion trained, then two
challengers gated on their per-row absolute errors against it: one from the same concept
refused, one trained after a concept shift promoted. Real Dagster runs, DuckDB and MLflow."""

import json

import dagster as dg
import duckdb
import pytest
from mlflow.tracking import MlflowClient

from continual_ml.app import cli
from continual_ml.app.cli.up import bootstrap
from continual_ml.app.first_champion import QUIET_RUN_CONFIG, bound_definitions
from continual_ml.models.store import read_pointer
from continual_ml_tests.support.landing import retrain_tick
from continual_ml_tests.support.materialized import day_measured
from continual_ml_tests.support.regression_data import regression_config, regression_days
from continual_ml_tests.support.user_data import use_config


@pytest.fixture
def prices(home, config, tmp_path, monkeypatch):
    """The user's config in CONTINUAL_ML_CONFIG (the demo's default is requested first)."""
    return use_config(regression_config(), tmp_path / "prices.yaml", monkeypatch)


def registry_rows(home):
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(
            "SELECT version, status FROM model_registry ORDER BY version"
        ).fetchall()


def retrain(home, day: str) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.get() as instance:
        result = (
            bound_definitions(home)
            .resolve_job_def("retrain_job")
            .execute_in_process(partition_key=day, instance=instance, run_config=QUIET_RUN_CONFIG)
        )
    assert result.success
    return result


def gate(home, version: int) -> tuple[bool, str, dict]:
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        passed, reason, details = conn.execute(
            "SELECT passed, reason, details FROM gate_results WHERE candidate_version = ?",
            [version],
        ).fetchone()
    return passed, reason, json.loads(details)


def test_a_numeric_target_gets_a_champion_and_gated_challengers(home, prices, tmp_path):
    files = {
        "history": regression_days("2026-03-01", 3, seed=1),
        "same": regression_days("2026-03-04", 3, seed=2),
        "shifted": regression_days("2026-03-07", 3, seed=3, shift=True),
    }
    for name, rows in files.items():
        rows.to_csv(tmp_path / f"{name}.csv", index=False)

    assert cli.main(["ingest", str(tmp_path / "history.csv")]) == 0
    bootstrap(home, prices, lambda line: None)
    assert registry_rows(home) == [(1, "champion")]
    assert read_pointer(home.bentoml_home)["version"] == 1

    # the same concept, later days: no better than the champion, refused on the evidence
    assert cli.main(["ingest", str(tmp_path / "same.csv")]) == 0
    same = retrain(home, "2026-03-06")
    assert registry_rows(home) == [(1, "champion"), (2, "rejected")]
    passed, reason, details = gate(home, 2)
    assert not passed and "signed-rank" in reason and "fails" in reason, reason
    assert details["metric"] == "absolute_error" and details["outcome"] == "refuse"
    assert details["n"] >= 150  # the minimum holdout
    [check] = same.get_asset_check_evaluations()
    assert check.metadata["decision"].value == "reject"
    # monitoring on a labelled day of the same concept: the champion's realized error is the
    # noise's (sd 1: MAE about 0.8), its estimate before labels near it, the interval covers
    # about 90% of the day's rows, and neither its numbers nor the target drifted
    with dg.DagsterInstance.get() as instance:
        monitoring = day_measured(home, instance, "2026-03-06")
    assert monitoring.success
    [performance] = monitoring.asset_materializations_for_node("model_performance")
    measured = {k: v.value for k, v in performance.metadata.items()}
    assert measured["task"] == "regression" and measured["error_metric"] == "mae"
    assert measured["champion_version"] == 1 and measured["n_labelled"] == measured["n_rows"]
    assert 0.6 < measured["realized_mae"] < 1.0
    assert measured["realized_error"] == measured["realized_mae"]
    assert abs(measured["estimated_mae"] - measured["realized_mae"]) < 0.25
    assert 0.8 <= measured["interval_coverage"] <= 0.97
    assert not measured["prediction_drifted"] and not measured["target_drifted"]
    assert measured["estimate_days_labelled"] == 1
    assert "error_over_time" in measured  # the realized and estimated MAE per day, charted
    assert monitoring.asset_materializations_for_node("drift_report")

    # after the concept shift: the champion errs badly, the fresh model is promoted
    assert cli.main(["ingest", str(tmp_path / "shifted.csv")]) == 0
    # a day after the shift, measured against v1 in charge: its error is far above the noise's
    with dg.DagsterInstance.get() as instance:
        shifted_day = day_measured(home, instance, "2026-03-08")
    [after] = shifted_day.asset_materializations_for_node("model_performance")
    assert after.metadata["champion_version"].value == 1
    assert after.metadata["realized_mae"].value > 4 * measured["realized_mae"]
    assert after.metadata["target_drifted"].value is False  # the target's spread is the same
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        days = conn.execute(
            "SELECT partition_date::VARCHAR, champion_version, n_labelled, interval_rows "
            "FROM regression_performance ORDER BY partition_date"
        ).fetchall()
    assert [day[:2] for day in days] == [("2026-03-06", 1), ("2026-03-08", 1)]
    assert all(labelled == covered > 150 for _, _, labelled, covered in days)
    # the retraining policy reads it from Dagster's event log: the same-concept day asks for
    # nothing, the shifted one for a retrain, caused by the labels (no feature drifted)
    with dg.DagsterInstance.get() as instance:
        tick = retrain_tick(instance, config_path=str(tmp_path / "prices.yaml"))
    [request] = tick.run_requests
    assert request.partition_key == "2026-03-08", tick.skip_reason
    assert request.tags["continual_ml/causes"] == "performance"
    assert request.tags["continual_ml/shift_onset"] == "2026-03-08"
    shifted = retrain(home, "2026-03-09")
    assert registry_rows(home) == [(1, "retired"), (2, "rejected"), (3, "champion")]
    passed, reason, details = gate(home, 3)
    assert passed and "passes" in reason, reason
    assert details["champion_value"] > 3 * details["candidate_value"]
    assert details["ci_low"] > 0 and details["wilcoxon_p_value"] < 0.05
    assert read_pointer(home.bentoml_home)["version"] == 3
    [decision] = shifted.asset_materializations_for_node("champion_model")
    promoted_mae = decision.metadata["promoted_mae"].value  # the policy's baseline from now on

    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        scores = conn.execute(
            "SELECT role, n, mae, rmse, r2, mape FROM regression_scores "
            "WHERE candidate_version = 3 AND slice = 'all' ORDER BY role"
        ).fetchall()
        slices = conn.execute(
            "SELECT count(DISTINCT slice) FROM regression_scores WHERE candidate_version = 3"
        ).fetchone()[0]
        run_id = conn.execute(
            "SELECT mlflow_run_id FROM model_registry WHERE version = 3"
        ).fetchone()[0]
    (_, n, candidate_mae, rmse, r2, _), (_, _, champion_mae, _, champion_r2, _) = scores
    assert n == details["n"]
    assert candidate_mae == pytest.approx(details["candidate_value"]) == promoted_mae
    assert champion_mae == pytest.approx(details["champion_value"])
    assert candidate_mae < 1.2 and rmse >= candidate_mae and r2 > 0.9 and champion_r2 < 0
    assert slices == 1  # no slice column configured: the whole holdout only

    evaluation = shifted.asset_materializations_for_node("evaluation_scores")[0].metadata
    assert evaluation["candidate_mae"].value == pytest.approx(candidate_mae)
    # the interval's coverage on the holdout, each row's interval calibrated without it
    assert 0.8 <= evaluation["candidate_interval_coverage"].value <= 0.97
    assert evaluation["candidate_interval_level"].value == 0.9
    assert "predicted_vs_actual" in evaluation["plots"].value
    assert "residuals" in evaluation["plots"].value
    logged = MlflowClient(home.mlflow_tracking_uri).get_run(run_id)
    assert logged.data.metrics["holdout_mae"] == pytest.approx(candidate_mae)
    coverage = evaluation["candidate_interval_coverage"].value
    assert logged.data.metrics["holdout_interval_coverage"] == pytest.approx(coverage)
    artifacts = {
        a.path for a in MlflowClient(home.mlflow_tracking_uri).list_artifacts(run_id, "evaluation")
    }
    assert "evaluation/residuals.png" in artifacts
