"""Scoring a CSV or Parquet file through the service's app in process (`continual-ml score`
against a real server: integration/test_service_files.py)."""

from __future__ import annotations

import io
import json
import time

import pandas as pd
import pytest

from continual_ml.serving.prediction_log import closed_logs
from continual_ml_tests.support.in_process_service import service_in_process
from continual_ml_tests.support.service_support import ROW

MAX_FILE_BYTES = 200_000


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    with service_in_process(root, CONTINUAL_ML_MAX_FILE_BYTES=str(MAX_FILE_BYTES)) as client:
        yield client


def rows_with_two_bad() -> pd.DataFrame:
    frame = pd.DataFrame([{**ROW, "x0": 0.1 * i, "row_ref": f"r{i}"} for i in range(2500)])
    frame["x1"] = frame["x1"].astype(object)
    frame.loc[7, "x1"] = "high"  # not a number
    frame.loc[2100, "segment"] = "up"  # not a category
    return frame


def post_file(service, content: bytes, content_type: str):
    return service.post("/score_file", content=content, headers={"content-type": content_type})


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_file_comes_back_with_a_prediction_or_an_error_per_row(service, kind):
    frame = rows_with_two_bad()
    if kind == "csv":
        content, content_type = frame.to_csv(index=False).encode(), "text/csv"
    else:
        buffer = io.BytesIO()
        frame.astype({"x1": str}).to_parquet(buffer)  # Parquet columns have one type
        content, content_type = buffer.getvalue(), "application/vnd.apache.parquet"
    answer = post_file(service, content, content_type)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    scored = pd.read_csv(io.StringIO(answer.text))
    assert list(scored["row_ref"]) == list(frame["row_ref"])  # every row, in order
    refused = scored[scored["error"].notna()]
    assert list(refused.index) == [7, 2100]
    assert "x1" in refused.loc[7, "error"] and "segment" in refused.loc[2100, "error"]
    accepted = scored[scored["error"].isna()]
    assert accepted["prediction_id"].str.len().eq(32).all()
    assert (accepted["model_version"] == 1).all()
    assert ((accepted["probability_0"] + accepted["probability_1"]) - 1).abs().max() < 1e-9
    assert refused["prediction_id"].isna().all()
    single = service.post("/predict", json={"features": {**ROW, "x0": 0.0}}).json()
    assert accepted.loc[0, "probability_1"] == pytest.approx(single["probabilities"]["1"])
    # Every prediction is logged like any other.
    deadline, logged = time.monotonic() + 30, set()
    wanted = set(accepted["prediction_id"])
    while not wanted <= logged:
        assert time.monotonic() < deadline
        time.sleep(0.5)
        logged = {
            json.loads(line)["prediction_id"]
            for path in closed_logs(service.prediction_log_dir)
            for line in path.read_text().splitlines()
        }


@pytest.mark.parametrize(
    ("content", "content_type", "status", "named"),
    [
        (b"x0,x1\n1,2\n", "text/csv", 400, "missing"),
        (b"PAR1 not really", "application/vnd.apache.parquet", 400, "not readable"),
        (b"a" * (MAX_FILE_BYTES + 1), "text/csv", 413, "body"),
        (b"x0\n1\n", "application/json", 415, "content-type"),
    ],
)
def test_a_file_that_cannot_be_scored_is_a_4xx_saying_why(
    service, content, content_type, status, named
):
    answer = post_file(service, content, content_type)
    assert answer.status_code == status and named in answer.json()["error"]


def test_a_multipart_upload_is_scored_as_the_raw_file_is(service):
    frame = rows_with_two_bad().head(20)
    content = frame.to_csv(index=False).encode()
    raw = pd.read_csv(io.StringIO(post_file(service, content, "text/csv").text))
    # BentoML's clients send a file as the `file` part of a multipart body, typed by its name.
    answer = service.post("/score_file", files={"file": ("day.csv", content, "text/plain")})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    uploaded = pd.read_csv(io.StringIO(answer.text))
    columns = [c for c in raw.columns if c != "prediction_id"]  # a new id for each prediction
    pd.testing.assert_frame_equal(uploaded[columns], raw[columns])


def test_a_multipart_body_without_a_file_part_is_a_400_saying_so(service):
    answer = service.post("/score_file", files={"other": ("day.csv", b"x0\n1\n", "text/csv")})
    assert answer.status_code == 400 and "`file` part" in answer.json()["error"]
