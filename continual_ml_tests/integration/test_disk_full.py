"""A full disk under the service: predictions it cannot log are refused (503 naming the reason),
never answered unlogged; the log holds no half line; once there is room again it serves again.

On a real full disk: a small tmpfs (mounting needs root; skipped without it)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from continual_ml.serving.prediction_log import CLOSED_SUFFIX, OPEN_SUFFIX
from continual_ml_tests.support.in_process_service import in_process_service
from continual_ml_tests.support.service_support import ROW, export, trained
from continual_ml_tests.support.small_disk import fill, small_disk

DISK_MB = 32


@pytest.fixture
def disk(tmp_path) -> Path:
    with small_disk(tmp_path / "disk", DISK_MB) as mounted:
        yield mounted


def logged_lines(logs: Path) -> list[dict]:
    """Every line of every prediction log, parsed: a half line fails here."""
    found = []
    for path in sorted(logs.glob("predictions-*")):
        if path.name.endswith((OPEN_SUFFIX, CLOSED_SUFFIX)):
            text = path.read_text()
            assert text == "" or text.endswith("\n"), f"{path.name} ends with a half line"
            found += [json.loads(line) for line in text.splitlines()]
    return found


def test_a_full_disk_refuses_predictions_it_cannot_log_and_serving_resumes(disk, tmp_path):
    store, logs = tmp_path / "bentoml", disk / "logs"
    export(store, 1, trained(0))
    batch = {"rows": [ROW] * 200}
    answered: list[str] = []
    with in_process_service(store, logs) as service:
        ok = service.post("/predict_batch", json=batch)
        assert ok.status_code == 200
        answered += [p["prediction_id"] for p in ok.json()["predictions"]]
        filler = fill(disk)
        refusals = [service.post("/predict_batch", json=batch) for _ in range(3)]
        for refusal in refusals:
            assert refusal.status_code == 503, refusal.text
            assert "No space left on device" in refusal.json()["error"]
            assert "refused rather than answered unlogged" in refusal.json()["error"]
            assert refusal.headers["retry-after"] == "5"
        # Feedback cannot be logged either: refused the same way.
        feedback = service.post("/feedback", json=[{"prediction_id": answered[0], "label": 1}])
        assert feedback.status_code == 503, feedback.text
        filler.unlink()  # room again: the writer notices at its next rotation (each model poll)
        deadline = time.monotonic() + 30
        while (again := service.post("/predict_batch", json=batch)).status_code == 503:
            assert time.monotonic() < deadline, again.text
            time.sleep(0.5)
        assert again.status_code == 200, again.text
        answered += [p["prediction_id"] for p in again.json()["predictions"]]
        metrics = service.get("/metrics").text
        assert "continual_ml_prediction_log_disk_free_bytes" in metrics
    # Every answered prediction is logged once; none that was refused is.
    logged = [line["prediction_id"] for line in logged_lines(logs)]
    assert sorted(logged) == sorted(answered)
    assert os.statvfs(disk).f_bavail > 0
