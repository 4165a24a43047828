"""What the service acknowledged survives a `kill -9`, and a broken pointer stops nothing.

The documented bound: a prediction or label is handed to the operating system before its
request is answered, so killing the worker loses no acknowledged line; the dead worker's open
logs are closed when the next one starts, and ingested exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import duckdb
import httpx
import psutil
import pytest

from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.ingestion.prediction_logs import ingest_prediction_log
from continual_ml.models.store import POINTER_FILE
from continual_ml.serving.prediction_log import OPEN_SUFFIX, close_abandoned, closed_logs
from continual_ml.warehouse.schema import apply_schema
from continual_ml_tests.support.service_support import ROW, export, running_service, trained


def worker_pid(service) -> int:
    """The BentoML worker process serving requests (a child of `bentoml serve`)."""
    [worker] = [
        p
        for p in psutil.Process(service.process.pid).children(recursive=True)
        if "_bentoml_impl.worker.service" in " ".join(p.cmdline())
    ]
    return worker.pid


def test_kill_9_under_traffic_loses_no_acknowledged_prediction_or_label(tmp_path, config):
    export(tmp_path / "bentoml", 1, trained(0))
    service = ServiceProcess(tmp_path / "bentoml", tmp_path / "service.log", tmp_path / "logs")
    acknowledged: list[str] = []
    labelled: list[str] = []
    stop = threading.Event()

    def client():
        with httpx.Client(base_url=service.url, timeout=10) as http:
            while not stop.is_set():
                try:
                    answer = http.post("/predict", json={"features": ROW})
                    if answer.status_code == 200:
                        prediction_id = answer.json()["prediction_id"]
                        acknowledged.append(prediction_id)
                        items = [{"prediction_id": prediction_id, "label": 1}]
                        if http.post("/feedback", json={"items": items}).status_code == 200:
                            labelled.append(prediction_id)
                except httpx.HTTPError:
                    time.sleep(0.05)  # the worker is down: try again

    with service:
        killed = worker_pid(service)
        clients = [threading.Thread(target=client) for _ in range(4)]
        for thread in clients:
            thread.start()
        while len(labelled) < 200:
            time.sleep(0.01)
        os.kill(killed, signal.SIGKILL)
        at_kill = len(acknowledged)
        deadline = time.monotonic() + 60
        while len(acknowledged) < at_kill + 100:  # answered again, by a new worker
            assert time.monotonic() < deadline, "no worker answered within 60 s of the kill"
            time.sleep(0.05)
        stop.set()
        for thread in clients:
            thread.join()
        assert worker_pid(service) != killed
        # The new worker closed the dead one's logs when it started, before its first request.
        assert not [p for p in (tmp_path / "logs").glob(f"*{OPEN_SUFFIX}") if str(killed) in p.name]
    logs = sorted(closed_logs(tmp_path / "logs"), key=lambda p: not p.name.startswith("pred"))
    assert any(f"-{killed}-" in p.name for p in logs)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        apply_schema(conn, config)
        for path in logs:
            ingest_prediction_log(conn, config, path)
        predictions = dict(
            conn.execute("SELECT prediction_id, count(*) FROM predictions GROUP BY 1").fetchall()
        )
        labels = dict(
            conn.execute("SELECT prediction_id, count(*) FROM labels GROUP BY 1").fetchall()
        )
    print(
        f"killed worker {killed} after {at_kill} answered; {len(acknowledged)} predictions and "
        f"{len(labelled)} labels acknowledged in all; {len(predictions)} and {len(labels)} ingested"
    )
    assert all(predictions.get(p) == 1 for p in acknowledged)
    assert all(labels.get(p) == 1 for p in labelled)


def test_an_abandoned_log_is_closed_by_age_without_its_unfinished_line(tmp_path):
    fresh = tmp_path / f"predictions-20260101T000000-{os.getpid()}-1{OPEN_SUFFIX}"
    old = tmp_path / "predictions-20260101T000000-999999-1.jsonl.open"
    old.write_text('{"n": 1}\n{"n": 2}\n{"n": 3, "cut sho')
    fresh.write_text('{"n": 4}\n')
    os.utime(old, (time.time() - 600, time.time() - 600))
    [closed] = close_abandoned(tmp_path, older_than_seconds=120)
    assert closed.name == "predictions-20260101T000000-999999-1.jsonl"
    assert [json.loads(line)["n"] for line in closed.read_text().splitlines()] == [1, 2]
    assert fresh.exists()  # a writer that may still be running keeps its file


def test_a_dead_writers_log_is_closed_at_once(tmp_path):
    dead = tmp_path / f"feedback-20260101T000000-{2**22 + 12345}-1{OPEN_SUFFIX}"
    dead.write_text('{"n": 1}\n')
    assert [p.name for p in close_abandoned(tmp_path, dead_writers=True)] == [
        dead.name.removesuffix(OPEN_SUFFIX) + ".jsonl"
    ]


@pytest.fixture
def service(tmp_path):
    with running_service(tmp_path) as running:
        yield running


def test_a_broken_pointer_shows_and_stops_neither_serving_nor_log_rotation(service):
    pointer = service.bentoml_home / POINTER_FILE
    good = pointer.read_text()
    pointer.write_text('{"tag": "continual_ml_champion:v2-')  # cut short while being copied
    deadline = time.monotonic() + 20
    while not (described := service.describe())["last_swap_error"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "champion.json" in described["last_swap_error"] and described["model_version"] == 1
    metrics = httpx.get(f"{service.url}/metrics", timeout=10).text
    assert 'continual_ml_model_swaps_total{outcome="failed"} 1.0' in metrics
    answer = httpx.post(f"{service.url}/predict", json={"features": ROW}, timeout=10).json()
    deadline = time.monotonic() + 30  # a log is closed within its 10 s age, pointer or not
    while answer["prediction_id"] not in "".join(
        p.read_text() for p in closed_logs(service.prediction_log_dir)
    ):
        assert time.monotonic() < deadline, "the log stopped rotating"
        time.sleep(0.5)
    pointer.write_text(good)
    deadline = time.monotonic() + 20
    while service.describe()["last_swap_error"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_a_service_started_on_a_corrupt_champion_says_why_it_cannot_serve(tmp_path):
    export(tmp_path / "bentoml", 1, trained(0))
    pointer = tmp_path / "bentoml" / POINTER_FILE
    pointer.write_text(pointer.read_text().replace('"sha256": "', '"sha256": "0'))
    service = ServiceProcess(tmp_path / "bentoml", tmp_path / "service.log", tmp_path / "logs")
    service.start(wait_ready=False)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{service.url}/livez", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.3)
        answer = httpx.post(f"{service.url}/predict", json={"features": ROW}, timeout=10)
        assert answer.status_code == 503
        assert "no model loaded" in answer.json()["error"] and "hash" in answer.json()["error"]
        assert httpx.get(f"{service.url}/readyz", timeout=5).status_code == 503
    finally:
        service.stop()
