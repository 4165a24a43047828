"""`/score_file` echoes every cell as it was sent, refused ones included, and logs each scored
row as `/predict` logs a row."""

from __future__ import annotations

import csv
import io
import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from continual_ml.serving.prediction_log import closed_logs
from continual_ml_tests.support.in_process_service import service_in_process

SENT = (
    "x0,x1,x2,x3,x4,segment,note\n"
    "1e400,-1,0,1,0.2,north,a\n"
    'NaN,-1,0,1,0.2,north,"b, c"\n'
    '0.10,-1.0,0,1,2e-1,north,"multi\nline"\n'
    '-0.0,high,0,1,0.2,up,"""quoted"""\n'
    "0.5, -1 ,0,1,0.2,south,\n"
    "+3,.5,1.,007,1E2,east,\n"
)
REASONS = [
    "x0: '1e400' is not a finite number",
    "x0: 'NaN' is not a finite number",
    "",
    "x1: 'high' is not a number",
    "",
    "",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with service_in_process(tmp_path_factory.mktemp("echo")) as client:
        yield client


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_every_cell_comes_back_as_it_was_sent_with_the_reason_for_a_refused_row(service):
    answer = service.post("/score_file", content=SENT, headers={"content-type": "text/csv"})
    assert answer.status_code == 200
    sent, answered = rows_of(SENT), rows_of(answer.text)
    assert answered[0] == [*sent[0], *ANSWER_COLUMNS]
    for row, (before, after) in enumerate(zip(sent[1:], answered[1:], strict=True)):
        assert after[: len(before)] == before, f"row {row} echoed as {after[: len(before)]}"
        assert after[-1] == REASONS[row]
        assert (after[7] == "") == bool(REASONS[row])  # a prediction id only where scored
    # unquoted cells come back byte for byte, not re-formatted
    assert "\n1e400,-1,0,1,0.2,north,a," in answer.text and "\nNaN,-1," in answer.text


ANSWER_COLUMNS = [
    "prediction_id",
    "model_version",
    "predicted_class",
    "probability_0",
    "probability_1",
    "error",
]


def test_each_scored_row_is_logged_as_predict_logs_a_row(service):
    answer = service.post("/score_file", content=SENT, headers={"content-type": "text/csv"})
    scored = [row for row in rows_of(answer.text)[1:] if row[7]]
    features = {"x0": 0.5, "x1": -1.0, "x2": 0.0, "x3": 1.0, "x4": 0.2, "segment": "south"}
    single = service.post("/predict", json={"features": features}).json()
    by_id = wait_for_logged(service, {row[7] for row in scored} | {single["prediction_id"]})
    reference = by_id[single["prediction_id"]]
    for row in scored:
        record = by_id[row[7]]
        assert record.keys() == reference.keys()
        assert record["model_version"] == 1 and str(record["predicted_class"]) == row[9]
        assert record["probabilities"] == {"0": float(row[10]), "1": float(row[11])}
        assert record["features"] == {
            name: (value if name == "segment" else float(value))
            for name, value in zip(features, row[:6], strict=False)
        }
    [same] = [by_id[row[7]] for row in scored if row[5] == "south"]
    assert same["features"] == reference["features"]
    assert same["probabilities"] == pytest.approx(reference["probabilities"], abs=1e-12)


def wait_for_logged(service, ids: set[str]) -> dict[str, dict]:
    deadline, logged = time.monotonic() + 30, {}
    while not ids <= logged.keys():
        assert time.monotonic() < deadline, "predictions not logged"
        time.sleep(0.5)
        for path in closed_logs(service.prediction_log_dir):
            for line in path.read_text().splitlines():
                record = json.loads(line)
                logged[record["prediction_id"]] = record
    return logged


def test_a_parquet_files_typed_numbers_are_logged_exactly(service):
    values = [0.1, 1e21, -2.5e-8, 7.0]
    table = pa.table(
        {
            "x0": values,
            "x1": [-1.0] * 4,
            "x2": [0.0] * 4,
            "x3": pa.array([1, 2, 3, 4], pa.int64()),  # an integer column is a number too
            "x4": [0.2, float("nan"), 0.2, 0.2],  # refused: not finite
            "segment": ["north"] * 4,
        }
    )
    body = io.BytesIO()
    pq.write_table(table, body)
    answer = service.post(
        "/score_file",
        content=body.getvalue(),
        headers={"content-type": "application/vnd.apache.parquet"},
    )
    rows = rows_of(answer.text)[1:]
    assert rows[1][-1] == "x4: 'nan' is not a finite number" and not rows[1][6]
    by_id = wait_for_logged(service, {row[6] for row in rows if row[6]})
    for i in (0, 2, 3):
        features = by_id[rows[i][6]]["features"]
        assert features["x0"] == values[i] and features["x3"] == i + 1
