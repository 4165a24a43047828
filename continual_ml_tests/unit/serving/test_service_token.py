"""With a token, the scoring routes need it and the health routes stay open; the token is never
logged. Its own module: one service app runs at a time in a process (as in a worker), and
test_service.py's runs for that whole module."""

import json
import logging

from continual_ml.serving.prediction_log import OPEN_SUFFIX, closed_logs
from continual_ml_tests.support.in_process_service import in_process_service, post, wait_for_version
from continual_ml_tests.support.service_support import ROW, export, trained

TOKEN = "test-token-8f2c"


def test_with_a_token_predictions_need_it_and_health_stays_open(tmp_path, caplog):
    token = {"CONTINUAL_ML_API_TOKEN": TOKEN}
    with caplog.at_level(logging.INFO):
        with in_process_service(tmp_path / "bentoml", tmp_path / "logs", token) as secured:
            assert secured.get("/livez").status_code == 200
            assert secured.get("/readyz").status_code == 503  # up, but no model yet: not ready
            export(tmp_path / "bentoml", 2, trained(8))
            wait_for_version(secured, 2)
            assert secured.get("/readyz").status_code == 200
            assert post(secured, "/predict", {"features": ROW}).status_code == 401
            assert post(secured, "/predict_rows", {"rows": [ROW]}).status_code == 401
            wrong = post(
                secured, "/predict", {"features": ROW}, headers={"authorization": "Bearer no"}
            )
            assert wrong.status_code == 401
            right = post(
                secured, "/predict", {"features": ROW}, headers={"authorization": f"Bearer {TOKEN}"}
            )
            assert right.status_code == 200 and right.json()["model_version"] == 2
            assert secured.get("/metrics").status_code == 200
            assert secured.get("/model").status_code == 200
    assert TOKEN not in caplog.text
    # Stopping closes the open log: what was served can be ingested, nothing is left half-written.
    assert not list((tmp_path / "logs").glob(f"*{OPEN_SUFFIX}"))
    logged = [
        json.loads(line)
        for path in closed_logs(tmp_path / "logs")
        for line in path.read_text().splitlines()
    ]
    assert right.json()["prediction_id"] in {r["prediction_id"] for r in logged}
