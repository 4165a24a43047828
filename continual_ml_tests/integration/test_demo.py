"""The demo scenario end to end, in a short form, through the real command line."""

import csv
import os
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from continual_ml.app.supervision.service_process import free_port
from continual_ml.config import DEFAULT_CONFIG
from continual_ml_tests.support.processes import stop_group

DRIFT_SENSOR = {
    "repositoryLocationName": "continual_ml",
    "repositoryName": "__repository__",
    "sensorName": "drift_retrain_sensor",
}
TICKS_QUERY = """
query ($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 200) {
      status timestamp skipReason runKeys runIds cursor } } }
  }
}"""


@pytest.fixture(scope="module")
def short_demo(tmp_path_factory):
    """One short demo for every test of this module: its home, environment and output."""
    tmp_path = tmp_path_factory.mktemp("demo")
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["stream"].update(rows_per_day=800, drift_day=5)
    config_path = tmp_path / "short.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    home = tmp_path / "home"
    env = {**os.environ, "CONTINUAL_ML_CONFIG": str(config_path), "CONTINUAL_ML_HOME": str(home)}
    env["CONTINUAL_ML_DEMO_SERVICE_PORT"] = str(free_port())  # the port a user would choose
    for name in ("DAGSTER_HOME", "BENTOML_HOME", "MLFLOW_TRACKING_URI", "CONTINUAL_ML_WAREHOUSE"):
        env.pop(name, None)

    completed = subprocess.run(
        [sys.executable, "-m", "continual_ml.app.cli", "demo", "--days", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    return home, env, completed


def test_the_short_demo_detects_drift_retrains_and_swaps_the_served_model(short_demo):
    home, env, completed = short_demo
    assert completed.returncode == 0, completed.stderr[-3000:]
    with (home / "demo_timeline.csv").open() as handle:
        timeline = {row["day"]: row for row in csv.DictReader(handle)}

    calm, drifted = timeline["2026-01-05"], timeline["2026-01-06"]
    assert float(calm["drift_share"]) == 0.0 and "sensor skipped" in calm["events"]
    assert float(drifted["drift_share"]) > 0.3
    assert "retrain v2 promoted" in drifted["events"]
    assert "service swapped to v2" in drifted["events"]
    # The old champion served the drifted day; its successors serve the days after.
    assert drifted["served_versions"] == "1"
    last = timeline["2026-01-09"]
    assert int(last["served_versions"]) >= 2
    assert float(last["served_accuracy"]) > float(drifted["served_accuracy"]) + 0.3
    assert (home / "dagster_home" / "dagster.yaml").exists()
    assert "demo finished" in completed.stdout
    port = env["CONTINUAL_ML_DEMO_SERVICE_PORT"]
    assert f"service ready at http://127.0.0.1:{port}," in completed.stdout

    # What the demo leaves behind reads as the story it played: every prediction it was answered
    # is in DuckDB with its label, and each served version has a realized accuracy.
    import duckdb

    served_rows = 800 * (9 - 3)  # the days after the three bootstrap days
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == served_rows
        assert conn.execute("SELECT count(*) FROM labelled_predictions").fetchone()[0] == (
            served_rows
        )
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    try:
        with dg.DagsterInstance.get() as instance:
            [event] = instance.fetch_materializations(
                dg.AssetKey("served_model_performance"), limit=1
            ).records
            failed = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        realized = event.asset_materialization.metadata["realized_accuracy"].value
        assert 0.5 < realized <= 1.0
        assert failed == []  # a refused candidate is a decision, not a failed run
    finally:
        os.environ.pop("DAGSTER_HOME")


def drift_sensor_ticks(port: int) -> list[dict] | None:
    """The drift sensor's ticks, newest first, as the UI's Automation page reads them."""
    try:
        answer = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": TICKS_QUERY, "variables": {"selector": DRIFT_SENSOR}},
            timeout=10,
        )
        sensor = answer.json()["data"]["sensorOrError"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return None
    return sensor["sensorState"]["ticks"] if sensor["__typename"] == "Sensor" else None


def test_make_dev_after_the_demo_shows_its_ticks_and_carries_on_from_them(short_demo, tmp_path):
    home, env, completed = short_demo
    assert completed.returncode == 0, completed.stderr[-3000:]
    with (home / "demo_timeline.csv").open() as handle:
        timeline = list(csv.DictReader(handle))
    port, log = free_port(), (tmp_path / "dagster-dev.log").open("wb")
    started = time.time()
    dev = subprocess.Popen(
        [sys.executable, "-m", "continual_ml.app.cli", "dagster-dev", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        demo_ticks, daemon_ticks = None, []
        while time.time() - started < 240 and dev.poll() is None and not daemon_ticks:
            ticks = drift_sensor_ticks(port)
            if ticks is not None:
                demo_ticks = demo_ticks or [t for t in ticks if t["timestamp"] < started]
                # A tick still being evaluated (STARTED) has no reason yet: wait for its end.
                daemon_ticks = [
                    t for t in ticks if t["timestamp"] >= started and t["status"] != "STARTED"
                ]
            time.sleep(2)
        output = (tmp_path / "dagster-dev.log").read_text(errors="replace")[-3000:]
        assert demo_ticks, f"no demo ticks on the Automation page:\n{output}"
        assert daemon_ticks, f"the daemon did not tick within 240 s:\n{output}"
    finally:
        stop_group(dev)
        log.close()

    # (a) Every day of the timeline has its tick: the same reason, or the retrain it launched.
    reasons = {t["skipReason"] for t in demo_ticks if t["status"] == "SKIPPED"}
    requested = {key for t in demo_ticks if t["status"] == "SUCCESS" for key in t["runKeys"]}
    assert len(demo_ticks) == len(timeline)
    for day in timeline:
        if day["events"].startswith("sensor skipped: "):
            assert day["events"].removeprefix("sensor skipped: ") in reasons, day
        else:
            assert f"drift-retrain-{day['day']}" in requested, day
    assert "drift-retrain-2026-01-06" in requested  # the drifted day's retrain

    # (b) The daemon's first tick carries on from the demo's cursor: no day judged again.
    [first] = daemon_ticks[-1:]
    assert first["runKeys"] == [], first
    assert first["skipReason"] == "no partitions monitored since the last tick", first
    assert first["cursor"] == demo_ticks[0]["cursor"]
