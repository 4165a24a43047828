"""`continual-ml up` with its home on a small disk that fills up: disk pressure is a state, not a
crash. `up` keeps running, the service refuses predictions it cannot log (503 naming the reason),
the alert goes out over the webhook (which needs no disk); once there is room again it says so,
the service answers again, and every prediction it answered reaches DuckDB exactly once.

A real full disk: a tmpfs (mounting needs root; skipped without it)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import duckdb
import httpx
import pytest

from continual_ml.app.supervision.live_system import Ports
from continual_ml.app.supervision.service_process import REPO_ROOT, free_port
from continual_ml.serving.prediction_log import CLOSED_SUFFIX, OPEN_SUFFIX
from continual_ml_tests.support.live_home import CLI, processes_of, up_environment, wait_for
from continual_ml_tests.support.service_support import ROW
from continual_ml_tests.support.small_disk import fill, small_disk
from continual_ml_tests.support.webhook_sinks import sinks

BATCH = {"rows": [ROW] * 500}  # a batch larger than what a page left in an open log can hold


def predict(url: str) -> httpx.Response | None:
    try:
        return httpx.post(f"{url}/predict_batch", json=BATCH, timeout=30)
    except httpx.HTTPError:
        return None


def titles(sink) -> str:
    return json.dumps(sink.payloads())


@pytest.mark.timeout(1800)
def test_up_survives_a_full_disk_refuses_unlogged_predictions_alerts_and_resumes(tmp_path):
    with small_disk(tmp_path / "disk", 400) as disk:
        run_on_a_disk_that_fills(disk, tmp_path)


def run_on_a_disk_that_fills(disk, tmp_path) -> None:
    home, ports, log = disk / "home", Ports.free(), tmp_path / "up.log"
    service = f"http://127.0.0.1:{ports.service}"
    answered, refused, timings = [], 0, {}
    up = None
    try:
        with sinks(1) as [slack]:
            env = up_environment(
                home,
                CONTINUAL_ML_SENSOR_SECONDS="2",
                DAGSTER_CODE_SERVER_PORT=str(free_port()),
                CONTINUAL_ML_SLACK_WEBHOOK_URL=slack.url,
                CONTINUAL_ML_DISK_WARN_FREE_MB="50",
            )
            command = [CLI, "up", "--dagster-port", str(ports.webserver), "--mlflow-port"]
            command += [str(ports.mlflow), "--service-port", str(ports.service)]
            with log.open("wb") as out:
                up = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=out)
            wait_for(lambda: "Ctrl-C stops everything" in log.read_text(), 600, "startup", log)
            for _ in range(3):
                ok = predict(service)
                assert ok is not None and ok.status_code == 200
                answered += [p["prediction_id"] for p in ok.json()["predictions"]]

            filler = fill(disk)
            full_at = time.monotonic()
            wait_for(lambda: "the disk is full" in titles(slack), 60, "the disk-full alert", log)
            timings["alert after"] = time.monotonic() - full_at
            refusal = predict(service)
            assert refusal is not None and refusal.status_code == 503, refusal
            assert "No space left on device" in refusal.json()["error"]
            refused += 1
            time.sleep(60)  # a minute on a full disk: nothing gives up
            assert up.poll() is None, log.read_text()[-3000:]
            status = subprocess.run(
                [CLI, "status"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
            )
            assert "disk: FULL" in status.stdout, status.stdout + status.stderr

            filler.unlink()
            freed_at = time.monotonic()
            wait_for(lambda: "disk space is back" in titles(slack), 60, "the room alert", log)
            timings["room seen after"] = time.monotonic() - freed_at

            def serving_again() -> bool:
                response = predict(service)
                if response is not None and response.status_code == 200:
                    answered.extend(p["prediction_id"] for p in response.json()["predictions"])
                    return True
                return False

            wait_for(serving_again, 120, "the service answering again", log)
            timings["serving again after"] = time.monotonic() - freed_at
            logs = home / "prediction_logs"
            wait_for(
                lambda: (
                    not any(logs.glob(f"predictions-*{OPEN_SUFFIX}"))
                    and not any(logs.glob(f"predictions-*{CLOSED_SUFFIX}"))
                ),
                300,
                "the logs ingested",
                log,
            )
            timings["logs ingested after"] = time.monotonic() - freed_at
            assert up.poll() is None
    finally:
        if up is not None and up.poll() is None:
            up.send_signal(signal.SIGINT)
            up.wait(timeout=120)
        print(f"\n{ {k: round(v, 1) for k, v in timings.items()} }, refused {refused}")
    assert up.returncode == 0, log.read_text()[-3000:]
    assert processes_of(home) == []
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        ingested = [r[0] for r in conn.execute("SELECT prediction_id FROM predictions").fetchall()]
    assert sorted(ingested) == sorted(answered)  # none lost, none twice, no refused one
