"""BentoML's own client calls the service: a BentoML user's first call works.

`bentoml.SyncHTTPClient` reads the service's `/schema.json` and offers one method per BentoML
API; `/predict` and `/predict_batch` are answered behind the guard over HTTP, but their answers
must still be what the client expects. Against a real `bentoml serve` on loopback, with a token.
"""

from __future__ import annotations

import bentoml
import httpx
import pytest

from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml_tests.support.service_support import ROW, export, trained

TOKEN = "client-token-31c7"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("client")
    export(root / "bentoml", 1, trained(0))
    running = ServiceProcess(
        root / "bentoml",
        root / "service.log",
        root / "logs",
        extra_env={"CONTINUAL_ML_API_TOKEN": TOKEN},
    )
    with running:
        yield running


@pytest.fixture
def client(service):
    with bentoml.SyncHTTPClient(service.url, token=TOKEN) as client:
        yield client


def test_the_client_offers_every_scoring_route(client):
    for name in ("predict", "predict_batch", "predict_rows", "feedback"):
        assert callable(getattr(client, name)), name


def test_predict_one_row_through_the_client(client):
    answer = client.predict(features=ROW)
    assert answer["model_version"] == 1
    assert answer["predicted_class"] in (0, 1)
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0)
    assert len(answer["prediction_id"]) == 32


def test_the_client_gets_the_answers_raw_http_gets(client, service):
    one = client.predict(features=ROW)
    batch = client.predict_batch(rows=[ROW, ROW])
    merged = client.predict_rows(rows=[ROW])
    for answer in (one, *batch["predictions"], *merged):
        assert answer["probabilities"] == one["probabilities"]  # the same model, the same row
    assert batch["model_version"] == 1
    accepted = client.feedback(items=[{"prediction_id": one["prediction_id"], "label": 1}])
    assert accepted == {"accepted": 1}


def test_a_refusal_reaches_the_client_as_an_error(service):
    with bentoml.SyncHTTPClient(service.url, token="wrong") as client:
        with pytest.raises(bentoml.exceptions.BentoMLException, match="bearer token"):
            client.predict(features=ROW)


def test_the_batch_api_answers_the_client_as_it_answers_raw_http(client, service):
    rows = [ROW, {**ROW, "x0": -3.0}]
    expected = httpx.post(
        f"{service.url}/predict_batch",
        json={"rows": rows},
        headers={"authorization": f"Bearer {TOKEN}"},
        timeout=10,
    ).json()
    answered = client.predict_batch(rows=rows)
    assert answered["model_version"] == expected["model_version"] == 1
    assert [p["probabilities"] for p in answered["predictions"]] == [
        p["probabilities"] for p in expected["predictions"]
    ]
    # two requests, two sets of prediction ids: each was scored and logged on its own
    assert {p["prediction_id"] for p in answered["predictions"]}.isdisjoint(
        p["prediction_id"] for p in expected["predictions"]
    )
