"""A champion scored by its pipeline refuses some values; merged, only their requests fail.

A random forest casts features to float32, so it refuses a finite 1e308 ("Input X contains
infinity or a value too large"), where the linear fast scorer and gradient boosting answer. On
`/predict_rows`, BentoML merges concurrent callers' rows into one scoring call: one caller's
refused row must fail that caller's request alone (a 422), never the others' rows.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pandas as pd
import pytest

from continual_ml.app.service_process import ServiceProcess
from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.training.pipeline import fit_candidate, serialize_model
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
    with ServiceProcess(root / "bentoml", root / "service.log", root / "logs") as running:
        yield running


async def send_together(url: str, bodies: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        headers = {"content-type": "application/json"}
        return await asyncio.gather(
            *(client.post("/predict_rows", content=b, headers=headers) for b in bodies)
        )


def merged_requests_per_call(url: str) -> float:
    totals = dict(MERGED.findall(httpx.get(f"{url}/metrics", timeout=10).text))
    return float(totals.get("sum", 0)) / max(1.0, float(totals.get("count", 0)))


def test_a_refused_row_fails_only_its_own_request_in_a_merged_call(forest_service):
    good = json.dumps({"rows": [ROW, {**ROW, "x0": -1.0}]})
    bad = json.dumps({"rows": [ROW, {**ROW, "x0": 1e308}]})  # a good row beside a refused one
    bodies = [bad if i % 4 == 0 else good for i in range(64)]
    responses = []
    for _ in range(5):  # a few rounds: every one sends the 64 at once
        responses += asyncio.run(send_together(forest_service.url, bodies))
    # The rows were merged across requests, or this tested nothing.
    assert merged_requests_per_call(forest_service.url) > 1.5
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
    (refused,) = asyncio.run(
        send_together(forest_service.url, [json.dumps({"rows": [{**ROW, "x1": -1e308}]})])
    )
    assert refused.status_code == 422 and "float32" in refused.json()["error"]
    (answered,) = asyncio.run(send_together(forest_service.url, [json.dumps({"rows": [ROW]})]))
    assert answered.status_code == 200 and all_finite(answered.json())
