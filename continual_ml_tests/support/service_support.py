"""Models and requests shared by the tests that run the real service on loopback."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd

from continual_ml.app import cli
from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.serving.prediction_log import closed_logs
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml_tests.support.exported_models import export_champion

ROW = {"x0": 0.5, "x1": -1.0, "x2": 0.0, "x3": 1.0, "x4": 0.2, "segment": "north"}


@contextmanager
def running_service(root: Path, models=None, **env: str) -> Iterator[ServiceProcess]:
    """The real service on loopback, serving `models` (default `trained(0)`) as v1 from a BentoML
    store under `root`, with its log and prediction logs beside it; `env` adds variables."""
    export(root / "bentoml", 1, models or trained(0))
    bentoml_home, log, logs = root / "bentoml", root / "service.log", root / "logs"
    with ServiceProcess(bentoml_home, log, logs, extra_env=env) as running:
        yield running


def trained(first_day: int) -> tuple[bytes, str]:
    config = default_config()
    rows = pd.concat(
        generate_batch(config, partition_date(config, i)) for i in range(first_day, first_day + 2)
    )
    return serialize_model(fit_candidate(config, rows))


def export(store, version: int, artifact_and_sha: tuple[bytes, str]) -> str:
    artifact, sha256 = artifact_and_sha
    return export_champion(store, default_config(), version, artifact, sha256)


def post_raw(url: str, content: bytes | str, headers: dict | None = None) -> httpx.Response:
    return httpx.post(
        url,
        content=content,
        headers={"content-type": "application/json", **(headers or {})},
        timeout=30,
    )


def strict_json(text: str):
    """The JSON value of `text`, failing on NaN/Infinity tokens, which JSON does not have."""

    def refuse(token):
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def all_finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(all_finite(v) for v in value)
    return True


def scored_csv(client, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` sent to `/score_file` as CSV and the file answered, read back; `client` is the
    service's (a Starlette `TestClient`, or an `httpx.Client` with the service's base URL)."""
    answer = client.post(
        "/score_file", content=frame.to_csv(index=False), headers={"content-type": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    return pd.read_csv(io.StringIO(answer.text))


def ingest_service_logs(folder: Path) -> list[Path]:
    """The service's closed prediction logs in `folder` landed by `continual-ml ingest`,
    predictions first (feedback names them); the logs, in that order."""
    logs = sorted(closed_logs(folder), key=lambda p: "feedback" in p.name)
    for log in logs:
        assert cli.main(["ingest", str(log), "--kind", "prediction_log"]) == 0
    return logs
