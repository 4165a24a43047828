"""Requests a demanding client or an attacker sends, against the service's app in process.

Every case must be a 2xx with finite, valid JSON or a 4xx whose error names the problem; none a
5xx; and the service must answer normally afterwards. What needs a real socket (a client gone
mid-upload, oversized bodies sent meanwhile) is in integration/test_service_inputs.py.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest

from continual_ml_tests.support.in_process_service import service_in_process
from continual_ml_tests.support.service_support import ROW, all_finite, strict_json


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # the demo's model: steep weights, so 1e308 features overflow the logit
    with service_in_process(tmp_path_factory.mktemp("inputs")) as client:
        yield client


def post_raw(client, path: str, content: bytes | str, headers: dict | None = None):
    headers = {"content-type": "application/json", **(headers or {})}
    return client.post(path, content=content, headers=headers)


def body(features=None, **top) -> str:
    return json.dumps({"features": {**ROW, **(features or {})}, **top})


HUGE = {"x0": 1e308, "x1": 1e308}
OPPOSITE = {"x0": 1.7e308, "x1": -1.7e308, "x2": -1.7e308, "x3": 1.7e308, "x4": -1e308}
ROW_JSON = json.dumps(ROW)
ROW_FIELDS = ROW_JSON[1:-1]  # the row's members, to splice into hand-written JSON
WITHOUT_X0 = json.dumps({"features": {k: v for k, v in ROW.items() if k != "x0"}})
TWICE = '{"features": ' + ROW_JSON + ', "features": ' + ROW_JSON + "}"
KEY_1MB = "k" * 1_000_000

# (name, path, raw body, status, words the error must contain)
MATRIX = [
    ("huge features", "/predict", body(HUGE), 200, []),
    ("opposite huge", "/predict", body(OPPOSITE), 200, []),
    ("huge batch", "/predict_batch", json.dumps({"rows": [{**ROW, **HUGE}] * 3}), 200, []),
    ("huge merged", "/predict_rows", json.dumps({"rows": [{**ROW, **OPPOSITE}, ROW]}), 200, []),
    ("min float", "/predict", body({"x0": 5e-324, "x1": -5e-324}), 200, []),
    ("integers", "/predict", body({"x0": 3, "x1": -(10**15)}), 200, []),
    ("charset", "/predict", body(), 200, []),
    ("string number", "/predict", body({"x0": "0.5"}), 400, ["x0"]),
    ("boolean number", "/predict", body({"x0": True}), 400, ["x0"]),
    ("null number", "/predict", body({"x2": None}), 400, ["x2"]),
    ("overflowing literal", "/predict", body().replace("0.5", "1e400", 1), 400, ["x0"]),
    ("NaN literal", "/predict", body().replace("0.5", "NaN", 1), 400, ["x0"]),
    ("huge integer", "/predict", body().replace("0.5", "9" * 5000, 1), 400, []),
    ("extra top-level key", "/predict", body(colour="red"), 400, ["colour"]),
    ("extra feature", "/predict", body({"colour": "red"}), 400, ["colour"]),
    ("missing feature", "/predict", WITHOUT_X0, 400, ["x0"]),
    (
        "duplicate feature",
        "/predict",
        '{"features": {"x0": 9, ' + ROW_FIELDS + "}}",
        400,
        ["x0", "more than once"],
    ),
    ("duplicate top key", "/predict", TWICE, 400, ["features", "more than once"]),
    ("unknown category", "/predict", body({"segment": "up"}), 400, ["segment"]),
    (
        "1 MB key",
        "/predict_batch",
        json.dumps({"rows": [{**ROW, KEY_1MB: 1}]}),
        400,
        ["Extra inputs"],
    ),
    ("1 MB body on a small route", "/predict", body({KEY_1MB: 1}), 413, ["body"]),
    ("not JSON", "/predict", "{", 400, ["JSON"]),
    ("not UTF-8", "/predict", b'{"features": "\xff\xfe"}', 400, ["JSON"]),
    ("array body", "/predict", "[]", 400, ["body"]),
    ("deep nesting", "/predict", "[" * 100_000 + "]" * 100_000, 400, ["body"]),
    ("empty body", "/predict", "", 400, ["JSON"]),
    ("empty rows", "/predict_batch", '{"rows": []}', 400, ["rows"]),
    ("empty merged rows", "/predict_rows", '{"rows": []}', 400, ["rows"]),
    ("65 merged rows", "/predict_rows", json.dumps({"rows": [ROW] * 65}), 400, ["rows"]),
    ("10^5 merged rows", "/predict_rows", json.dumps({"rows": [ROW] * 100_000}), 413, ["body"]),
    ("batch too large", "/predict_batch", "[" + " " * (9 * 1024 * 1024) + "]", 413, ["body"]),
    ("empty feedback", "/feedback", '{"items": []}', 400, ["items"]),
    (
        "feedback label",
        "/feedback",
        '{"items": [{"prediction_id": "ab", "label": 7}]}',
        400,
        ["label"],
    ),
    (
        "feedback string label",
        "/feedback",
        '{"items": [{"prediction_id": "ab", "label": "1"}]}',
        400,
        ["label"],
    ),
    (
        "conflicting labels",
        "/feedback",
        json.dumps(
            {"items": [{"prediction_id": "ab", "label": 0}, {"prediction_id": "ab", "label": 1}]}
        ),
        409,
        ["two different labels"],
    ),
    (
        "too many labels",
        "/feedback",
        json.dumps({"items": [{"prediction_id": f"{i:x}", "label": 1} for i in range(10_001)]}),
        400,
        ["items"],
    ),
    (
        "feedback id",
        "/feedback",
        '{"items": [{"prediction_id": "../../x", "label": 1}]}',
        400,
        ["prediction_id"],
    ),
]


@pytest.mark.parametrize(
    ("path", "content", "status", "words"),
    [case[1:] for case in MATRIX],
    ids=[case[0] for case in MATRIX],
)
def test_every_request_gets_finite_json_or_a_4xx_naming_the_problem(
    service, path, content, status, words
):
    headers = {"content-type": "application/json; charset=utf-8"}
    response = post_raw(service, path, content, headers)
    assert response.status_code == status, response.text[:300]
    answer = strict_json(response.text)  # no bare NaN tokens
    if status == 200:
        assert all_finite(answer)
    else:
        assert set(answer) == {"error", "detail"} and isinstance(answer["detail"], list)
        for word in words:
            assert word in answer["error"] or word in json.dumps(answer["detail"]), answer
        assert len(response.content) < 4096  # nothing a client sent is echoed in full


def test_a_repeated_label_is_recorded_once(service):
    items = [{"prediction_id": "abc", "label": 1}] * 3
    answer = post_raw(service, "/feedback", json.dumps({"items": items}))
    assert answer.json() == {"accepted": 1}


def test_overflowing_features_get_the_probability_their_sign_gives(service):
    answer = post_raw(service, "/predict", body(HUGE)).json()
    assert sorted(answer["probabilities"].values()) == [0.0, 1.0]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
def test_other_methods_on_a_post_route_are_405(service, method):
    response = service.request(method, "/predict")
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_two_authorization_headers_are_refused(service):
    response = service.post(
        "/predict",
        content=body(),
        headers=[
            ("content-type", "application/json"),
            ("authorization", "Bearer a"),
            ("authorization", "Bearer b"),
        ],
    )
    assert response.status_code == 400 and "Authorization" in response.json()["error"]


def test_metrics_stay_bounded_under_a_404_flood(service):
    paths = [f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}" for _ in range(2000)]
    for path in paths:
        assert service.get(path).status_code == 404
    metrics = service.get("/metrics").text
    labels = set(re.findall(r'endpoint="([^"]*)"', metrics))
    assert "other" in labels
    assert not any(p.split("/")[1] in metrics for p in paths)
    assert labels <= {
        "/predict", "/predict_rows", "/predict_batch", "/feedback", "/model", "/metrics",
        "/livez", "/healthz", "/readyz", "/", "/docs.json", "/schema.json", "/static_content",
        "/score_file", "other",
    }  # fmt: skip


def test_client_errors_are_logged_in_one_line_without_echoing_the_request(service, caplog):
    with caplog.at_level(logging.INFO, logger="continual_ml"):
        post_raw(service, "/predict_batch", json.dumps({"rows": [{**ROW, KEY_1MB: 1}]}))
    assert "refused POST /predict_batch: 400" in caplog.text
    assert not any(record.exc_info for record in caplog.records)
    assert KEY_1MB[:1000] not in caplog.text


def test_the_service_answers_normally_after_all_this(service):
    assert service.get("/readyz").status_code == 200
    answer = post_raw(service, "/predict", body()).json()
    assert answer["model_version"] == 1 and all_finite(answer)
