"""The BentoML service started for real on a loopback port, following a real model store."""

import threading
import time

import httpx
import pandas as pd
import pytest

from continual_ml.model_store import export_champion
from continual_ml.service_process import ServiceProcess
from continual_ml.synthetic_stream import generate_batch, partition_date
from continual_ml.training import fit_candidate, serialize_model

ROW = {"x0": 0.5, "x1": -1.0, "x2": 0.0, "x3": 1.0, "x4": 0.2, "segment": "north"}


def trained(config, first_day):
    rows = pd.concat(
        generate_batch(config, partition_date(config, i)) for i in range(first_day, first_day + 2)
    )
    return serialize_model(fit_candidate(config, rows))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("bentoml")


@pytest.fixture(scope="module")
def service(store):
    from continual_ml.config import default_config

    export_champion(store, default_config(), 1, *trained(default_config(), 0))
    with ServiceProcess(store, store.parent / "service.log") as running:
        yield running


def predict(service, rows):
    return httpx.post(f"{service.url}/predict", json={"rows": rows}, timeout=10)


def test_one_and_many_rows_get_probabilities_class_and_version(service):
    single = predict(service, [ROW])
    assert single.status_code == 200
    [prediction] = single.json()["predictions"]
    assert single.json()["model_version"] == 1
    assert set(prediction["probabilities"]) == {"0", "1"}
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)
    assert prediction["predicted_class"] in (0, 1)
    many = predict(service, [ROW, {**ROW, "x0": -3.0}, {**ROW, "segment": "west"}])
    assert many.status_code == 200 and len(many.json()["predictions"]) == 3
    assert len({p["prediction_id"] for p in many.json()["predictions"]}) == 3


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        ([{k: v for k, v in ROW.items() if k != "x3"}], "x3"),
        ([{**ROW, "x1": "high"}], "x1"),
        ([{**ROW, "segment": "up"}], "segment"),
        ([{**ROW, "colour": "red"}], "colour"),
        ([], "rows"),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_field(service, rows, named):
    response = predict(service, rows)
    assert response.status_code == 400
    assert named in response.text


def test_nan_is_refused(service):
    body = '{"rows": [{"x0": NaN, "x1": 0, "x2": 0, "x3": 0, "x4": 0, "segment": "east"}]}'
    response = httpx.post(
        f"{service.url}/predict",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400 and "x0" in response.text


def test_a_promotion_while_serving_swaps_without_failing_a_request(service, store):
    from continual_ml.config import default_config

    outcomes: list[tuple[int, int | None]] = []
    stop = threading.Event()

    def hammer():
        with httpx.Client(base_url=service.url, timeout=10) as client:
            while not stop.is_set():
                response = client.post("/predict", json={"rows": [ROW]})
                version = response.json().get("model_version") if response.is_success else None
                outcomes.append((response.status_code, version))

    client_thread = threading.Thread(target=hammer)
    client_thread.start()
    try:
        export_champion(store, default_config(), 2, *trained(default_config(), 9))
        waited = service.wait_for_version(2, timeout_seconds=20)
        n_before = len(outcomes)
        while len(outcomes) < n_before + 20:
            time.sleep(0.01)
    finally:
        stop.set()
        client_thread.join()
    assert waited < 10
    assert {status for status, _ in outcomes} == {200}
    versions = [version for _, version in outcomes]
    assert versions == sorted(versions) and versions[0] == 1 and versions[-1] == 2


def test_a_model_that_fails_verification_is_not_swapped_in(service, store):
    from continual_ml.config import default_config

    before = service.served_version()
    artifact, _ = trained(default_config(), 4)
    export_champion(store, default_config(), 99, artifact, "0" * 64)  # hash does not match
    for _ in range(50):
        described = httpx.post(f"{service.url}/model", json={}, timeout=10).json()
        if described["last_swap_error"]:
            break
        time.sleep(0.2)
    assert "hash" in described["last_swap_error"] and "v99" in described["last_swap_error"]
    assert described["model_version"] == before
    assert predict(service, [ROW]).json()["model_version"] == before
