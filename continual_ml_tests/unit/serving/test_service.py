"""The BentoML service's app in process (`Service.to_asgi()`), following a real model store.

BentoML's own client against a real `bentoml serve`: integration/test_bentoml_client.py.
"""

import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.serving.prediction_log import RotatingJsonlWriter, closed_logs
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml_tests.support.exported_models import export_champion
from continual_ml_tests.support.in_process_service import in_process_service, post, wait_for_version
from continual_ml_tests.support.in_process_service import served as describe

ROW = {"x0": 0.5, "x1": -1.0, "x2": 0.0, "x3": 1.0, "x4": 0.2, "segment": "north"}
TOKEN = "test-token-8f2c"


def trained(first_day):
    config = default_config()
    rows = pd.concat(
        generate_batch(config, partition_date(config, i)) for i in range(first_day, first_day + 2)
    )
    return serialize_model(fit_candidate(config, rows))


@pytest.fixture(scope="module")
def models():
    """Three different models: before the drift, just after it, and well after it."""
    return {1: trained(0), 2: trained(8), 3: trained(10)}


def export(store, version, models, sha256=None):
    artifact, real_sha = models[version]
    export_champion(
        store,
        default_config(),
        version,
        artifact,
        sha256 or real_sha,
        details={"training_start": "2026-01-01", "metrics": {"accuracy": 0.9}},
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory, models):
    root = tmp_path_factory.mktemp("service")
    export(root / "bentoml", 1, models)
    with in_process_service(root / "bentoml", root / "logs") as client:
        client.store = root / "bentoml"
        yield client


def test_one_row_gets_probabilities_class_version_and_id(service):
    response = post(service, "/predict", {"features": ROW})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == 1 and len(body["prediction_id"]) == 32
    assert set(body["probabilities"]) == {"0", "1"}
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert body["predicted_class"] == int(body["probabilities"]["1"] >= 0.5)


def test_many_rows_come_back_in_order_from_one_model(service):
    rows = [ROW, {**ROW, "x0": -3.0}, {**ROW, "segment": "west"}]
    body = post(service, "/predict_batch", {"rows": rows}).json()
    assert body["model_version"] == 1 and len(body["predictions"]) == 3
    singles = [post(service, "/predict", {"features": r}).json() for r in rows]
    for batched, single in zip(body["predictions"], singles, strict=True):
        assert batched["probabilities"]["1"] == pytest.approx(
            single["probabilities"]["1"], abs=1e-9
        )


def merged_calls(service) -> tuple[float, float]:
    """Requests BentoML's dispatcher has passed to `predict_rows`, and in how many calls."""
    metrics = service.get("/metrics").text
    found = dict(
        re.findall(r"adaptive_batch_size_(sum|count)\{[^}]*predict_rows[^}]*\} (\S+)", metrics)
    )
    return float(found.get("sum", 0)), float(found.get("count", 0))


def test_concurrent_rows_are_merged_yet_each_caller_gets_its_own_answers(service):
    rows = [{**ROW, "x0": -4.0 + 0.25 * i} for i in range(32)]
    expected = [post(service, "/predict", {"features": r}).json() for r in rows]
    requests_before, calls_before = merged_calls(service)

    with ThreadPoolExecutor(len(rows)) as threads:  # the app's event loop has them at once
        sent = threads.map(lambda r: post(service, "/predict_rows", {"rows": [r]}), rows * 4)
        answers = list(sent)
    requests_after, calls_after = merged_calls(service)
    assert {a.status_code for a in answers} == {200}
    for answer, single in zip(answers, expected * 4, strict=True):
        [prediction] = answer.json()
        assert prediction["model_version"] == single["model_version"]
        assert prediction["probabilities"]["1"] == pytest.approx(
            single["probabilities"]["1"], abs=1e-9
        )
    assert len({a.json()[0]["prediction_id"] for a in answers}) == len(answers)
    assert requests_after - requests_before == len(answers)
    assert calls_after - calls_before < len(answers)  # some requests shared a scoring call


def test_a_few_rows_in_one_merged_request_come_back_in_order(service):
    rows = [ROW, {**ROW, "x0": -3.0}, {**ROW, "segment": "west"}]
    body = post(service, "/predict_rows", {"rows": rows}).json()
    singles = [post(service, "/predict", {"features": r}).json() for r in rows]
    assert [p["predicted_class"] for p in body] == [p["predicted_class"] for p in singles]
    for merged, single in zip(body, singles, strict=True):
        assert merged["probabilities"]["1"] == pytest.approx(single["probabilities"]["1"], abs=1e-9)


@pytest.mark.parametrize(
    ("path", "body", "status", "named"),
    [
        ("/predict", {"features": {k: v for k, v in ROW.items() if k != "x3"}}, 400, "x3"),
        ("/predict", {"features": {**ROW, "x1": "high"}}, 400, "x1"),
        ("/predict", {"features": {**ROW, "segment": "up"}}, 400, "segment"),
        ("/predict", {"features": {**ROW, "colour": "red"}}, 400, "colour"),
        ("/predict", {"features": {**ROW, "x2": None}}, 400, "x2"),
        ("/predict_batch", {"rows": []}, 400, "rows"),
        ("/predict_batch", {"rows": [ROW] * 10_001}, 400, "rows"),
        ("/predict_rows", {"rows": []}, 400, "rows"),
        ("/predict_rows", {"rows": [ROW] * 65}, 400, "rows"),
        ("/predict_rows", {"rows": [ROW, {**ROW, "x4": "low"}]}, 400, "x4"),
        ("/predict_rows", {"rows": [{**ROW, "segment": "up"}]}, 400, "segment"),
        ("/feedback", {"items": [{"prediction_id": "abc", "label": 7}]}, 400, "label"),
        ("/feedback", {"items": []}, 400, "items"),
    ],
)
def test_a_malformed_request_is_a_4xx_naming_the_field(service, path, body, status, named):
    response = post(service, path, body)
    assert response.status_code == status
    assert named in response.text


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(service, literal):
    body = '{"features": {"x0": %s, "x1": 0, "x2": 0, "x3": 0, "x4": 0, "segment": "east"}}'
    response = service.post(
        "/predict", content=body % literal, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "x0" in response.text


def test_wrong_content_type_and_oversized_body_are_refused_up_front(service):
    wrong = service.post("/predict", content="x0=1", headers={"content-type": "text/plain"})
    assert wrong.status_code == 415 and "content-type" in wrong.text
    huge = service.post(
        "/predict_batch",
        content=b"{" + b" " * (9 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413 and "body" in huge.text


def test_get_model_describes_the_serving_model(service):
    described = describe(service)
    assert described["model_version"] == 1
    assert described["training_start"] == "2026-01-01"
    assert described["metrics"] == {"accuracy": 0.9, "undefined": {}}
    assert described["promoted_at"] and described["last_swap_error"] is None


def test_predictions_and_feedback_are_logged_to_closed_jsonl_files(service, tmp_path_factory):
    ids = [
        p["prediction_id"]
        for p in post(service, "/predict_batch", {"rows": [ROW, ROW]}).json()["predictions"]
    ]
    assert post(
        service, "/feedback", {"items": [{"prediction_id": ids[0], "label": 1}]}
    ).json() == {"accepted": 1}
    log_dir = service.prediction_log_dir
    deadline = time.monotonic() + 20
    records = []
    while time.monotonic() < deadline:
        records = [
            json.loads(line)
            for path in closed_logs(log_dir)
            for line in path.read_text().splitlines()
        ]
        if {"feedback"} <= {r["kind"] for r in records} and ids[1] in {
            r.get("prediction_id") for r in records
        }:
            break
        time.sleep(0.5)
    logged = {r["prediction_id"]: r for r in records if r["kind"] == "prediction"}
    assert logged[ids[0]]["features"] == ROW and logged[ids[0]]["model_version"] == 1
    assert {"served_at", "latency_ms", "probabilities", "predicted_class"} <= set(logged[ids[0]])
    [feedback] = [r for r in records if r["kind"] == "feedback"]
    assert (feedback["prediction_id"], feedback["label"]) == (ids[0], 1)


def test_swaps_under_load_fail_no_request_and_keep_order(service, models):
    per_client: list[list[tuple[int, int | None]]] = [[] for _ in range(4)]
    stop = threading.Event()

    def hammer(outcomes):
        while not stop.is_set():
            response = post(service, "/predict", {"features": ROW})
            version = response.json().get("model_version") if response.is_success else None
            outcomes.append((response.status_code, version))

    clients = [threading.Thread(target=hammer, args=(o,)) for o in per_client]
    for client in clients:
        client.start()
    waits = []
    try:
        while any(len(o) < 10 for o in per_client):  # every client is under way on v1
            time.sleep(0.01)
        for version in (2, 3, 1):  # two promotions, then a rollback to v1
            export(service.store, version, models)
            waits.append(wait_for_version(service, version, timeout_seconds=20))
            n_before = [len(o) for o in per_client]
            while any(len(o) < n + 10 for o, n in zip(per_client, n_before, strict=True)):
                time.sleep(0.01)
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert max(waits) < 10
    for outcomes in per_client:
        assert {status for status, _ in outcomes} == {200}
        # Each client's requests are sequential, so it sees the versions in promotion order.
        versions = [v for i, (_, v) in enumerate(outcomes) if i == 0 or outcomes[i - 1][1] != v]
        assert versions == [1, 2, 3, 1]
    metrics = service.get("/metrics").text
    assert re.search(r'continual_ml_serving_model_version\{pid="\d+"\} 1\.0', metrics)
    assert 'continual_ml_model_swaps_total{outcome="swapped"}' in metrics
    assert 'continual_ml_predictions_total{model_version="3",predicted_class=' in metrics


def test_a_model_that_fails_verification_is_not_swapped_in(service, models):
    before = describe(service)["model_version"]
    failed_before = swaps_failed(service)
    export(service.store, 3, models, sha256="0" * 64)  # the hash does not match the bytes
    for _ in range(50):
        described = describe(service)
        if described["last_swap_error"]:
            break
        time.sleep(0.2)
    assert "hash" in described["last_swap_error"]
    assert described["model_version"] == before
    assert post(service, "/predict", {"features": ROW}).json()["model_version"] == before
    assert swaps_failed(service) == failed_before + 1


def swaps_failed(service) -> float:
    """Swaps refused so far in this process (the counter is the process's, as in a worker)."""
    found = re.findall(
        r'continual_ml_model_swaps_total\{outcome="failed"\} (\S+)', service.get("/metrics").text
    )
    return sum(map(float, found))


def test_a_request_writing_the_log_never_waits_for_a_file_to_be_closed(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr("continual_ml.serving.prediction_log.os.fsync", synced.append)
    writer = RotatingJsonlWriter(tmp_path, "predictions", max_records=2)
    writer.write([{"n": 1}, {"n": 2}])  # full: set aside, still open
    writer.write([{"n": 3}])  # goes to a new file
    assert closed_logs(tmp_path) == [] and synced == []
    writer.rotate()  # the service's background thread: fsyncs and renames the full file
    [full] = closed_logs(tmp_path)
    assert [json.loads(line)["n"] for line in full.read_text().splitlines()] == [1, 2]
    assert len(synced) == 1
    writer.close()
    assert [len(p.read_text().splitlines()) for p in closed_logs(tmp_path)] == [2, 1]


def test_metrics_count_requests_and_latency_by_endpoint_and_status(service):
    def scrape() -> dict[str, float]:
        text = service.get("/metrics").text

        def total(pattern: str) -> float:
            return sum(float(v) for v in re.findall(pattern + r"\{[^}]*\} (\S+)", text))

        return {
            "ok": total(r'request_total(?=\{[^}]*endpoint="/predict"[^}]*code="200")'),
            "bad": total(r'request_total(?=\{[^}]*endpoint="/predict"[^}]*code="400")'),
            "timed": total(r'request_duration_seconds_count(?=\{[^}]*endpoint="/predict")'),
            "predicted": total(r"continual_ml_predictions_total"),
            "in_progress": total(r'request_in_progress(?=\{[^}]*endpoint="/predict")'),
        }

    before = scrape()
    for _ in range(5):
        assert post(service, "/predict", {"features": ROW}).status_code == 200
    for _ in range(2):
        assert post(service, "/predict", {"features": {**ROW, "x0": "high"}}).status_code == 400
    after = scrape()  # updates are batched; a scrape writes them first
    change = {name: after[name] - before[name] for name in after}
    assert change == {"ok": 5, "bad": 2, "timed": 7, "predicted": 5, "in_progress": 0}
    assert after["in_progress"] == 0


def test_a_line_written_in_pieces_is_written_whole(tmp_path, monkeypatch):
    write = os.write
    monkeypatch.setattr(  # the kernel may take less than asked (a signal, a nearly full disk)
        "continual_ml.serving.prediction_log.os.write", lambda fd, data: write(fd, data[:3])
    )
    writer = RotatingJsonlWriter(tmp_path, "predictions")
    writer.write([{"n": 1, "text": "x" * 50}])
    writer.write([{"n": 2}, {"n": 3}])
    writer.close()
    [log] = closed_logs(tmp_path)
    assert [json.loads(line)["n"] for line in log.read_text().splitlines()] == [1, 2, 3]
