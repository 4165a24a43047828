"""Every link an alert carries is an absolute http(s) URL the running system answers.

Real receivers on loopback stand in for Slack and Discord; the real Dagster webserver, MLflow
server and BentoML service answer the links, each started in its own process group, every wait
bounded. A page that answers is not enough (both UIs answer any path with their app): each link
is also checked to name a run, asset partition or artifact that exists.
"""

import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import httpx
import pytest

from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_explanation, drift_report
from continual_ml.defs.resources import build_resources
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.monitoring.report_runs import REPORT_FILE
from continual_ml_tests.support.processes import Processes, free_port
from continual_ml_tests.support.service_support import export, trained
from continual_ml_tests.support.synthetic_days import land_days, landed
from continual_ml_tests.support.webhook_sinks import discord_links, sinks, slack_links

BIN = Path(sys.executable).parent
SECRET = "T000/B000/SECRET-TOKEN-5678"


@pytest.fixture
def servers(home, tmp_path):
    """The Dagster webserver on the home's instance and the MLflow server on its store."""
    processes = Processes(logs=tmp_path, cwd=tmp_path)
    dagster_port, mlflow_port = free_port(), free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    processes.start(
        "dagster-webserver",
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(dagster_port)]
        + ["-m", "continual_ml.definitions"],
        env,
    )
    processes.start(
        "mlflow",
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(mlflow_port)]
        + ["--workers", "1", "--backend-store-uri", home.mlflow_tracking_uri],
        env,
    )
    urls = {
        "dagster": f"http://127.0.0.1:{dagster_port}",
        "mlflow": f"http://127.0.0.1:{mlflow_port}",
    }
    try:
        processes.wait_for("Dagster UI", lambda: _ok(f"{urls['dagster']}/server_info"), 180)
        processes.wait_for("MLflow UI", lambda: _ok(f"{urls['mlflow']}/health"), 120)
        yield urls
    finally:
        processes.stop()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _graphql(dagster: str, query: str) -> dict:
    reply = httpx.post(f"{dagster}/graphql", json={"query": query}, timeout=30)
    reply.raise_for_status()
    return reply.json()["data"]


def _assert_answered(url: str, urls: dict) -> None:
    """The link is absolute, its page answers, and what it names exists."""
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, url
    assert httpx.get(url, timeout=30, follow_redirects=True).status_code == 200, url
    base = f"{parts.scheme}://{parts.netloc}"
    route = (urlsplit(parts.fragment).path or parts.path).strip("/").split("/")
    if base == urls["dagster"] and route[0] == "runs":
        found = _graphql(base, f'{{ runOrError(runId: "{route[1]}") {{ __typename }} }}')
        assert found["runOrError"]["__typename"] == "Run", url
    elif base == urls["dagster"] and route[0] == "assets":
        key = f'{{path: ["{route[1]}"]}}'
        partition = parse_qs(parts.query).get("partition")
        if partition is None:  # the asset's page: the asset exists
            found = _graphql(base, f"{{ assetNodeOrError(assetKey: {key}) {{ __typename }} }}")
            assert found["assetNodeOrError"]["__typename"] == "AssetNode", url
            return
        query = (
            f"{{ assetOrError(assetKey: {key}) {{ ... on Asset "
            f'{{ assetMaterializations(partitions: ["{partition[0]}"]) {{ partition }} }} }} }}'
        )
        materialized = _graphql(base, query)["assetOrError"]["assetMaterializations"]
        assert [m["partition"] for m in materialized][:1] == partition, url
    elif base == urls["mlflow"]:
        assert route[0] == "experiments" and route[2] == "runs", url
        run = httpx.get(f"{base}/api/2.0/mlflow/runs/get", params={"run_id": route[3]}, timeout=30)
        assert run.status_code == 200, url
        if route[4:5] == ["artifacts"]:
            artifact = httpx.get(
                f"{base}/get-artifact",
                params={"path": "/".join(route[5:]), "run_uuid": route[3]},
                timeout=30,
            )
            assert artifact.status_code == 200 and b"<html" in artifact.content.lower(), url
    else:
        pytest.fail(f"a link to neither UI: {url}")


def test_the_drift_alert_links_its_report_runs_and_partitions_over_http(
    home, config, servers, monkeypatch
):
    monkeypatch.setenv("CONTINUAL_ML_DAGSTER_UI_URL", servers["dagster"])
    monkeypatch.setenv("CONTINUAL_ML_MLFLOW_UI_URL", servers["mlflow"])
    instance = dg.DagsterInstance.get()  # the home's, which the webserver reads too
    with sinks(2) as (slack, discord):
        monkeypatch.setenv("CONTINUAL_ML_SLACK_WEBHOOK_URL", f"{slack.url}/services/{SECRET}")
        monkeypatch.setenv("CONTINUAL_ML_DISCORD_WEBHOOK_URL", f"{discord.url}/api/{SECRET}")
        resources = build_resources(home)
        land_days([partition_date(config, 0)], home, resources, instance)
        day = partition_date(config, config.stream.drift_day)
        for assets in (
            [observations, current_window, reference_window, drift_report],
            [drift_explanation],  # renders the report the alert already links
        ):
            result = dg.materialize(
                assets,
                partition_key=str(day),
                run_config=landed(day, home.home / "batches") if observations in assets else None,
                resources=resources,
                instance=instance,
            )
            assert result.success
        slack_payload, discord_payload = slack.wait_for(1, 30)[0], discord.wait_for(1, 30)[0]
    assert "drift_detected" in slack_payload["text"]
    links = slack_links(slack_payload)
    assert set(discord_links(discord_payload).values()) == set(links.values())
    report = links[f"Drift report {day} (Evidently)"]
    assert urlsplit(urlsplit(report).fragment).path.endswith(f"/artifacts/{REPORT_FILE}")
    # the asset's metadata links the same report
    explained = instance.get_latest_materialization_event(drift_explanation.key)
    metadata = explained.asset_materialization.metadata
    assert metadata["report_url"].value == report
    assert len(links) == 3
    for url in links.values():
        _assert_answered(url, servers)


def test_a_replica_alerts_each_version_it_starts_serving(home, servers, tmp_path, monkeypatch):
    store, port = tmp_path / "bentoml", free_port()
    export(store, 1, trained(0))
    with sinks(2) as (slack, discord):
        env = {
            "CONTINUAL_ML_SLACK_WEBHOOK_URL": f"{slack.url}/services/{SECRET}",
            "CONTINUAL_ML_DISCORD_WEBHOOK_URL": f"{discord.url}/api/{SECRET}",
            "CONTINUAL_ML_SERVICE_URL": f"http://127.0.0.1:{port}",
            "CONTINUAL_ML_DAGSTER_UI_URL": servers["dagster"],
            "CONTINUAL_ML_REPLICA_ID": "replica-a",
        }
        log = tmp_path / "service.log"
        with ServiceProcess(store, log, tmp_path / "logs", port=port, extra_env=env) as service:
            first = discord.wait_for(1, 60)[0]
            export(store, 2, trained(8))
            second = discord.wait_for(2, 60)[1]
            slack_payloads = slack.wait_for(2, 60)
            assert service.url == env["CONTINUAL_ML_SERVICE_URL"]
            links = slack_links(slack_payloads[1])
            assert set(discord_links(second).values()) == set(links.values())
            for url in links.values():
                if url.startswith(service.url):
                    assert httpx.get(url, timeout=30).json()["model_version"] == 2
                else:
                    _assert_answered(url, servers)
    assert [p["embeds"][0]["title"] for p in (first, second)] == [
        "Serving model v1",
        "Serving model v2",
    ]
    assert all(p["embeds"][0]["footer"]["text"].endswith("model_serving") for p in (first, second))
    facts = {f["name"]: f["value"] for f in second["embeds"][0]["fields"]}
    assert facts["replica"] == "replica-a" and facts["was serving"] == "v1"
    assert "SECRET-TOKEN" not in log.read_text(errors="replace")
