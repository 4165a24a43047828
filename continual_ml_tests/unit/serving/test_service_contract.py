"""The edges of the HTTP contract a demanding client meets first, against the app in process:
a label's type, an empty file, refusals of unknown paths and methods, the case of the auth
scheme, a declared charset. (A 413 a plain client can read needs a real socket:
integration/test_service_clients.py.)"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from continual_ml_tests.support.in_process_service import service_in_process
from continual_ml_tests.support.service_support import ROW

TOKEN = "contract-token-41aa"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    with service_in_process(root, CONTINUAL_ML_API_TOKEN=TOKEN) as client:
        yield client


def post(service, path: str, content, content_type="application/json", headers=None):
    headers = {"content-type": content_type, **AUTH, **(headers or {})}
    return service.post(path, content=content, headers=headers)


def assert_refusal(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    assert set(answer) == {"error", "detail"} and isinstance(answer["detail"], list)
    for word in words:
        assert word in answer["error"], answer
    return answer


@pytest.mark.parametrize("label", ["true", "false"])
def test_a_boolean_label_is_refused_when_the_classes_are_integers(service, label):
    body = '{"items": [{"prediction_id": "ab", "label": ' + label + "}]}"
    assert_refusal(post(service, "/feedback", body), 400, "label")


def test_integer_labels_are_still_accepted(service):
    body = json.dumps({"items": [{"prediction_id": "ab", "label": 1}]})
    assert post(service, "/feedback", body).json() == {"accepted": 1}


FEATURES = list(ROW)
HEADER_ONLY = ",".join(FEATURES).encode() + b"\n"


@pytest.mark.parametrize("content", [b"", HEADER_ONLY], ids=["0 bytes", "header"])
def test_a_file_without_rows_comes_back_without_rows(service, content):
    answer = post(service, "/score_file", content, "text/csv")
    assert answer.status_code == 200, answer.text
    scored = pd.read_csv(io.StringIO(answer.text))
    assert len(scored) == 0
    assert {*FEATURES, "prediction_id", "predicted_class", "error"} <= set(scored.columns)


def test_the_documented_415_of_score_file_names_the_types_it_takes(service):
    document = service.get("/docs.json").json()
    why = document["paths"]["/score_file"]["post"]["responses"]["415"]["description"]
    assert "text/csv" in why and "application/vnd.apache.parquet" in why
    assert "multipart/form-data" in why and "application/json" not in why


def test_an_unknown_path_is_a_json_404(service):
    assert_refusal(service.get("/nowhere/at-all"), 404, "/nowhere/at-all")
    assert_refusal(service.post("/nowhere"), 404, "/nowhere")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("POST", "/model", "GET"),
    ("DELETE", "/model", "GET"),
    ("POST", "/livez", "GET"),
    ("PUT", "/docs.json", "GET"),
])  # fmt: skip
def test_a_method_a_route_does_not_take_is_a_json_405(service, method, path, allowed):
    response = service.request(method, path)
    assert_refusal(response, 405, method)
    assert allowed in response.headers["allow"]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_auth_scheme_is_case_insensitive(service, scheme):
    body = json.dumps({"features": ROW})
    answer = post(service, "/predict", body, headers={"authorization": f"{scheme} {TOKEN}"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("given", [f"bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "bearer"])
def test_a_wrong_token_in_any_case_is_still_refused(service, given):
    body = json.dumps({"features": ROW})
    answer = post(service, "/predict", body, headers={"authorization": given})
    assert_refusal(answer, 401, "token")


@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", "utf-16"])
def test_a_charset_other_than_utf8_is_a_415_naming_it(service, charset):
    body = json.dumps({"features": {**ROW, "segment": "north"}}).encode("latin-1")
    answer = post(service, "/predict", body, f"application/json; charset={charset}")
    assert_refusal(answer, 415, charset.lower(), "UTF-8")


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "us-ascii"])
def test_utf8_and_its_ascii_subset_are_taken(service, charset):
    body = json.dumps({"features": ROW})
    answer = post(service, "/predict", body, f"application/json; charset={charset}")
    assert answer.status_code == 200, answer.text


def test_a_csv_in_another_charset_is_a_415_too(service):
    answer = post(service, "/score_file", HEADER_ONLY, "text/csv; charset=windows-1252")
    assert_refusal(answer, 415, "windows-1252", "UTF-8")
