"""Links built from the public base URLs the environment gives, as the alerts carry them."""

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from continual_ml.alerts.links import (
    asset_partition_url,
    mlflow_experiment_url,
    retrain_links,
    run_url,
)
from continual_ml.alerts.payloads import discord_payload, slack_payload
from continual_ml.defs.monitoring.performance import unreliable_alert
from continual_ml_tests.support.webhook_sinks import discord_links, slack_links

DAGSTER = "https://ops.example.com/dagster/"  # behind a proxy, under a path, trailing slash
MLFLOW = "https://ops.example.com/mlflow"


@pytest.fixture(autouse=True)
def public_urls(monkeypatch):
    monkeypatch.setenv("CONTINUAL_ML_DAGSTER_UI_URL", DAGSTER)
    monkeypatch.setenv("CONTINUAL_ML_MLFLOW_UI_URL", MLFLOW)


def test_links_start_at_the_public_base_urls():
    assert run_url("abc-123") == "https://ops.example.com/dagster/runs/abc-123"
    page = urlsplit(asset_partition_url("drift_report", date(2026, 1, 9)))
    assert page.path == "/dagster/assets/drift_report"
    # the query the UI's own partition links use; `?partition=` alone shows the latest one
    assert parse_qs(page.query) == {"view": ["partitions"], "partition": ["2026-01-09"]}


def test_a_finished_retrain_links_its_mlflow_run_candidate_and_dagster_run():
    links = retrain_links("run-1", "mlflowrun", "7", partition=date(2026, 1, 9))
    assert links["MLflow run"] == (
        f"{MLFLOW}/#/experiments/7/runs/mlflowrun?workflowType=machine_learning"
    )
    assert links["Dagster run"] == f"{DAGSTER}runs/run-1"
    assert "candidate_model" in links["Candidate (Dagster)"]


def test_an_unreliable_estimate_is_its_own_event_with_links_the_platforms_render():
    row = {
        "champion_version": 3,
        "partition_date": date(2026, 1, 9),
        "reliability_reason": "calibration too poor to estimate accuracy",
        "realized_accuracy": 0.71,
        "estimated_accuracy": 0.88,
    }
    alert = unreliable_alert([row], "run-9")
    assert alert.event == "estimate_unreliable"
    for rendered in (slack_links(slack_payload(alert)), discord_links(discord_payload(alert))):
        urls = set(rendered.values())
        assert urls == set(alert.links.values()) and len(urls) == 2
        assert all(u.startswith("https://ops.example.com/dagster/") for u in urls)


def test_the_experiment_link_opens_its_runs_in_mlflows_machine_learning_view():
    page = urlsplit(mlflow_experiment_url("7"))
    assert f"{page.scheme}://{page.netloc}{page.path}" == f"{MLFLOW}/"
    route = urlsplit(page.fragment)  # MLflow routes after the '#'
    assert route.path == "/experiments/7/runs"
    assert parse_qs(route.query) == {"workflowType": ["machine_learning"]}
    assert mlflow_experiment_url("7", "http://127.0.0.1:5001/").startswith(
        "http://127.0.0.1:5001/#/experiments/7/runs?"
    )
