"""A champion scored by its pipeline refuses some values; merged, only their requests fail.

A random forest casts features to float32, so it refuses a finite 1e308 ("Input X contains
infinity or a value too large"), where the linear fast scorer and gradient boosting answer. On
`/predict_rows`, BentoML merges concurrent callers' rows into one scoring call: one caller's
refused row must fail that caller's request alone (a 422), never the others' rows.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml_tests.support.in_process_service import in_process_service
from continual_ml_tests.support.service_support import ROW, all_finite, export

MERGED = re.compile(
    r'^bentoml_service_adaptive_batch_size_(sum|count)\{[^}]*method_name="predict_rows"[^}]*\} '
    r"(\S+)$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def forest_service(tmp_path_factory):
    config = default_config()
    config = config.model_copy(
        update={"model": config.model.model_copy(update={"family": "random_forest"})}
    )
    rows = pd.concat(generate_batch(config, partition_date(config, d)) for d in (0, 1))
    root = tmp_path_factory.mktemp("forest")
    export(root / "bentoml", 1, serialize_model(fit_candidate(config, rows)))
    with in_process_service(root / "bentoml", root / "logs") as client:
        yield client


def send_together(client, bodies: list[str]) -> list:
    """Each body posted from a thread of its own: the app's event loop has them all at once."""
    headers = {"content-type": "application/json"}
    with ThreadPoolExecutor(len(bodies)) as threads:
        return list(
            threads.map(lambda b: client.post("/predict_rows", content=b, headers=headers), bodies)
        )


def merged_totals(client) -> tuple[float, float]:
    """Requests merged into `/predict_rows` calls so far in this process, and those calls."""
    totals = dict(MERGED.findall(client.get("/metrics").text))
    return float(totals.get("sum", 0)), float(totals.get("count", 0))


def test_a_refused_row_fails_only_its_own_request_in_a_merged_call(forest_service):
    good = json.dumps({"rows": [ROW, {**ROW, "x0": -1.0}]})
    bad = json.dumps({"rows": [ROW, {**ROW, "x0": 1e308}]})  # a good row beside a refused one
    bodies = [bad if i % 4 == 0 else good for i in range(64)]
    responses, before = [], merged_totals(forest_service)
    for _ in range(5):  # a few rounds: every one sends the 64 at once
        responses += send_together(forest_service, bodies)
    # The rows were merged across requests, or this tested nothing.
    after = merged_totals(forest_service)
    assert (after[0] - before[0]) / max(1.0, after[1] - before[1]) > 1.5
    for body, response in zip(bodies * 5, responses, strict=True):
        if body == bad:
            assert response.status_code == 422, response.text
            assert "cannot score" in response.json()["error"]
        else:
            assert response.status_code == 200, response.text
            answers = response.json()
            assert len(answers) == 2 and all_finite(answers)
            assert all(a["model_version"] == 1 and len(a["prediction_id"]) == 32 for a in answers)


def test_the_forest_answers_a_lone_refused_row_422_and_a_good_one_200(forest_service):
    (refused,) = send_together(forest_service, [json.dumps({"rows": [{**ROW, "x1": -1e308}]})])
    assert refused.status_code == 422 and "float32" in refused.json()["error"]
    (answered,) = send_together(forest_service, [json.dumps({"rows": [ROW]})])
    assert answered.status_code == 200 and all_finite(answered.json())
