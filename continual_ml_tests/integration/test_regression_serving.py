"""A regression champion served for real: the first champion the loop trains and exports from a
user's files, answered by `bentoml serve` on loopback as a number per row, with numeric feedback,
and the service's logs landed back in the warehouse."""

import duckdb
import httpx
import pandas as pd
import pytest

from continual_ml.app import cli
from continual_ml.app.cli.up import bootstrap
from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.models.store import read_pointer
from continual_ml.monitoring.served_traffic import served_performance
from continual_ml_tests.support.regression_data import regression_config, regression_days
from continual_ml_tests.support.service_support import ingest_service_logs, scored_csv
from continual_ml_tests.support.user_data import use_config

ROW = {"x0": 0.5, "x1": -1.0, "segment": "south"}


@pytest.fixture
def prices(home, config, tmp_path, monkeypatch):
    """The user's config in CONTINUAL_ML_CONFIG: the service process inherits it."""
    return use_config(regression_config(), tmp_path / "prices.yaml", monkeypatch)


def test_the_loops_regression_champion_answers_numbers_and_its_logs_land(home, prices, tmp_path):
    regression_days("2026-03-01", 3, seed=1).to_csv(tmp_path / "history.csv", index=False)
    assert cli.main(["ingest", str(tmp_path / "history.csv")]) == 0
    bootstrap(home, prices, lambda line: None)
    assert read_pointer(home.bentoml_home)["version"] == 1

    with ServiceProcess(home.bentoml_home, tmp_path / "service.log", home.prediction_logs) as svc:
        described = httpx.get(f"{svc.url}/model", timeout=30).json()
        assert described["task"] == "regression" and described["model_version"] == 1
        answer = httpx.post(f"{svc.url}/predict", json={"features": ROW}, timeout=30)
        assert answer.status_code == 200, answer.text
        number = answer.json()["prediction"]
        # the data's own rule: 10 + 4 x0 - 2 x1 + 3 for "south", noise of sd 1
        assert number == pytest.approx(10 + 2 + 2 + 3, abs=1.0)
        # the promotion exported a 90% conformal calibration from the champion's holdout
        conformal = described["conformal"]
        assert conformal["level"] == 0.9 and conformal["calibration_rows"] >= 150
        half = conformal["half_width"]
        assert 1.0 < half < 2.5  # |noise| of sd 1 has its 90% quantile at 1.645
        assert answer.json()["interval"] == {
            "lower": pytest.approx(number - half, rel=1e-12),
            "upper": pytest.approx(number + half, rel=1e-12),
            "level": 0.9,
        }
        # later days of the same concept: the intervals hold the truth about 90% of the time
        later = regression_days("2026-03-05", 2, seed=7)
        rows = later[["x0", "x1", "segment"]].to_dict("records")
        batch = httpx.post(f"{svc.url}/predict_batch", json={"rows": rows}, timeout=60).json()
        bounds = [(p["interval"]["lower"], p["interval"]["upper"]) for p in batch["predictions"]]
        held = [low <= y <= high for (low, high), y in zip(bounds, later["price"], strict=True)]
        assert 0.8 < sum(held) / len(held) < 0.97, sum(held) / len(held)
        feedback = {"items": [{"prediction_id": answer.json()["prediction_id"], "label": 16.5}]}
        accepted = httpx.post(f"{svc.url}/feedback", json=feedback, timeout=30)
        assert accepted.json() == {"accepted": 1}
        wrong = {"items": [{"prediction_id": answer.json()["prediction_id"], "label": "16.5"}]}
        assert httpx.post(f"{svc.url}/feedback", json=wrong, timeout=30).status_code == 400
        table = pd.DataFrame([ROW, {**ROW, "segment": "east"}])
        with httpx.Client(base_url=svc.url, timeout=30) as client:
            first, refused = scored_csv(client, table).to_dict("records")
        assert first["prediction"] == pytest.approx(number, rel=1e-12)
        assert pd.isna(refused["prediction"]) and "segment" in refused["error"]

    logs = ingest_service_logs(home.prediction_logs)
    assert [log.name.split("-")[0] for log in logs] == ["predictions", "feedback"]
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        served = served_performance(conn, regression=True)
        labelled = conn.execute("SELECT prediction, label FROM labelled_predictions").fetchall()
    assert labelled == [(pytest.approx(number, rel=1e-12), 16.5)]
    [newest] = served.to_dict("records")
    assert (newest["n_predictions"], newest["n_labelled"]) == (2 + 400, 1)
    assert newest["realized_mae"] == pytest.approx(abs(number - 16.5))
