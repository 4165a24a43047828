"""A regression champion served through the service's app in process (`Service.to_asgi()`,
`support.in_process_service`): each route answers a finite number, feedback takes numbers, and
the prediction log carries them."""

import io
import json
import math

import pandas as pd
import pytest

from continual_ml import ingestion
from continual_ml.serving.prediction_log import closed_logs
from continual_ml.training.conformal import calibrate
from continual_ml.training.pipeline import fit_candidate
from continual_ml_tests.support.in_process_service import post, serving_user_champion
from continual_ml_tests.support.regression_data import regression_config, regression_days
from continual_ml_tests.support.service_support import scored_csv
from continual_ml_tests.support.user_data import use_config

ROW = {"x0": 0.5, "x1": -1.0, "segment": "south"}
ROWS = [ROW, {"x0": -2.0, "x1": 0.3, "segment": "north"}, {"x0": 1.5, "x1": 2.0, "segment": "west"}]


def training_rows(config) -> pd.DataFrame:
    rows = regression_days("2026-03-01", 2, seed=1)
    return rows.rename(columns={"sale_id": "row_id", "sold_at": "event_time"})


@pytest.fixture
def ridge(home, tmp_path, monkeypatch):
    """A ridge regression champion as v1, served under a regression config; the pipeline."""
    config = use_config(regression_config(), tmp_path / "prices.yaml", monkeypatch)
    model = fit_candidate(config, training_rows(config))
    with serving_user_champion(home.bentoml_home, tmp_path / "logs", config, model) as client:
        yield client, model


def expected(model, rows: list[dict]) -> list[float]:
    return model.predict(pd.DataFrame(rows)).tolist()


def test_predict_answers_the_models_number_and_no_classes(ridge):
    service, model = ridge
    response = post(service, "/predict", {"features": ROW})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"prediction_id", "model_version", "prediction", "interval"}
    assert body["model_version"] == 1 and len(body["prediction_id"]) == 32
    assert body["prediction"] == pytest.approx(expected(model, [ROW])[0], rel=1e-9)
    assert body["interval"] is None  # exported without a conformal calibration


def test_batch_and_merged_rows_answer_numbers_in_order(ridge):
    service, model = ridge
    batch = post(service, "/predict_batch", {"rows": ROWS})
    assert batch.status_code == 200, batch.text
    assert batch.json()["model_version"] == 1
    numbers = [p["prediction"] for p in batch.json()["predictions"]]
    assert numbers == pytest.approx(expected(model, ROWS), rel=1e-9)
    merged = post(service, "/predict_rows", {"rows": ROWS})
    assert merged.status_code == 200, merged.text
    assert [p["prediction"] for p in merged.json()] == pytest.approx(numbers, rel=1e-9)
    assert all(
        set(p) == {"prediction_id", "model_version", "prediction", "interval"}
        for p in merged.json()
    )


def test_a_row_without_a_finite_number_is_refused(ridge):
    service, _ = ridge
    response = post(service, "/predict", {"features": {**ROW, "x0": 1e308}})
    assert response.status_code == 422, response.text
    assert "no finite prediction" in response.json()["error"]


def test_feedback_takes_finite_numbers_only(ridge):
    service, _ = ridge
    [pid] = [
        p["prediction_id"]
        for p in post(service, "/predict_batch", {"rows": [ROW]}).json()["predictions"]
    ]
    for label in (12.5, 3):
        accepted = post(service, "/feedback", {"items": [{"prediction_id": pid, "label": label}]})
        assert accepted.status_code == 200 and accepted.json() == {"accepted": 1}
    for label in ("12.5", True, None):
        refused = post(service, "/feedback", {"items": [{"prediction_id": pid, "label": label}]})
        assert refused.status_code == 400, (label, refused.text)
    body = '{"items": [{"prediction_id": "' + pid + '", "label": Infinity}]}'
    refused = service.post("/feedback", content=body, headers={"content-type": "application/json"})
    assert refused.status_code == 400


@pytest.fixture
def config():
    """The regression dataset: the suite's `conn` applies its schema."""
    return regression_config()


def test_a_file_comes_back_with_a_number_or_an_error_per_row(ridge):
    service, model = ridge
    frame = pd.DataFrame(ROWS).astype({"x0": object})
    frame.loc[1, "x0"] = "cheap"
    scored = scored_csv(service, frame)
    assert list(scored.columns) == [*ROW, "prediction_id", "model_version", "prediction", "error"]
    good = [0, 2]
    assert scored.loc[good, "prediction"].tolist() == pytest.approx(
        expected(model, [ROWS[i] for i in good]), rel=1e-9
    )
    assert scored.loc[good, "error"].isna().all()
    assert pd.isna(scored.loc[1, "prediction"]) and "x0" in scored.loc[1, "error"]


def test_served_numbers_and_feedback_land_in_the_warehouse(home, tmp_path, monkeypatch, conn):
    """The service's own logs of `/predict`, `/score_file` and `/feedback`, ingested."""
    config = use_config(regression_config(), tmp_path / "prices.yaml", monkeypatch)
    model = fit_candidate(config, training_rows(config))
    with serving_user_champion(home.bentoml_home, tmp_path / "logs", config, model) as service:
        answer = post(service, "/predict", {"features": ROW}).json()
        item = {"prediction_id": answer["prediction_id"], "label": 11.25}
        assert post(service, "/feedback", {"items": [item]}).status_code == 200
        csv = pd.DataFrame(ROWS[1:]).to_csv(index=False)
        scored = service.post("/score_file", content=csv, headers={"content-type": "text/csv"})
        file_numbers = pd.read_csv(io.StringIO(scored.text))[["prediction_id", "prediction"]]
    records = [json.loads(line) for path in closed_logs(tmp_path / "logs") for line in path.open()]
    predicted = [r for r in records if r["kind"] == "prediction"]
    assert all("probabilities" not in r and "predicted_class" not in r for r in predicted)
    for path in closed_logs(tmp_path / "logs"):
        report = ingestion.ingest_prediction_log(conn, config, path)
        assert report.rows_quarantined == 0, path.read_text()
    landed = dict(conn.execute("SELECT prediction_id, prediction FROM predictions").fetchall())
    served = {answer["prediction_id"]: answer["prediction"]}
    served |= dict(zip(file_numbers["prediction_id"], file_numbers["prediction"], strict=True))
    assert landed.keys() == served.keys() and math.isfinite(answer["prediction"])
    assert [landed[k] for k in served] == pytest.approx(list(served.values()), rel=1e-12)
    labels = conn.execute("SELECT prediction_id, label FROM labels").fetchall()
    assert labels == [(answer["prediction_id"], 11.25)]


@pytest.fixture
def calibrated(home, tmp_path, monkeypatch):
    """A ridge champion exported with a 90% split-conformal calibration on later days."""
    config = use_config(regression_config(), tmp_path / "prices.yaml", monkeypatch)
    model = fit_candidate(config, training_rows(config))
    holdout = regression_days("2026-03-05", 1, seed=2)
    calibration = calibrate(holdout["price"], model.predict(holdout[config.feature_names]), 0.9)
    details = {"conformal": calibration.to_dict()}
    logs = tmp_path / "logs"
    with serving_user_champion(home.bentoml_home, logs, config, model, details) as client:
        yield client, calibration


# An answer whose interval is not the model its schema declares still serializes, with a warning:
# made an error, so the answers are what they say they are.
@pytest.mark.filterwarnings("error:Pydantic serializer warnings:UserWarning")
def test_a_calibrated_champion_answers_each_number_with_its_interval(calibrated):
    service, calibration = calibrated
    assert 0 < calibration.half_width < 5  # noise of sd 1: about 1.645 at 90%
    one = post(service, "/predict", {"features": ROW}).json()
    batch = post(service, "/predict_batch", {"rows": ROWS}).json()["predictions"]
    merged = post(service, "/predict_rows", {"rows": ROWS}).json()
    for answer in [one, *batch, *merged]:
        interval, number = answer["interval"], answer["prediction"]
        assert interval == {
            "lower": pytest.approx(number - calibration.half_width, rel=1e-12),
            "upper": pytest.approx(number + calibration.half_width, rel=1e-12),
            "level": 0.9,
        }
    assert service.get("/model").json()["conformal"]["calibration_rows"] == 200


def test_a_calibrated_champions_file_gets_the_interval_bounds(calibrated):
    service, calibration = calibrated
    frame = pd.DataFrame(ROWS).astype({"x1": object})
    frame.loc[2, "x1"] = "high"
    scored = scored_csv(service, frame)
    bounds = ["prediction_lower", "prediction_upper"]
    assert list(scored.columns) == [
        *ROW,
        "prediction_id",
        "model_version",
        "prediction",
        *bounds,
        "error",
    ]
    singles = [post(service, "/predict", {"features": r}).json() for r in ROWS[:2]]
    for i, single in enumerate(singles):
        assert scored.loc[i, "prediction"] == pytest.approx(single["prediction"], rel=1e-12)
        assert scored.loc[i, "prediction_lower"] == pytest.approx(single["interval"]["lower"])
        assert scored.loc[i, "prediction_upper"] == pytest.approx(single["interval"]["upper"])
    assert scored.loc[2, [*bounds, "prediction"]].isna().all() and "x1" in scored.loc[2, "error"]


def test_a_normalized_calibration_is_refused_and_says_why(home, tmp_path, monkeypatch):
    config = use_config(regression_config(), tmp_path / "prices.yaml", monkeypatch)
    model = fit_candidate(config, training_rows(config))
    normalized = {"level": 0.9, "half_width": 1.5, "calibration_rows": 200, "normalized": True}
    details = {"conformal": normalized}
    logs = tmp_path / "logs"
    with serving_user_champion(home.bentoml_home, logs, config, model, details) as service:
        refused = post(service, "/predict", {"features": ROW})
        described = service.get("/model").json()
    assert refused.status_code == 503
    assert "normalized conformal calibration" in described["last_swap_error"]


def test_the_openapi_document_describes_a_number(ridge):
    service, _ = ridge
    document = service.get("/docs.json").json()
    schemas = document["components"]["schemas"]
    assert "Prediction" not in schemas and "BatchResponse" not in schemas
    assert schemas["NumberPrediction"]["properties"]["prediction"]["type"] == "number"
    ok = document["paths"]["/predict"]["post"]["responses"]["200"]["content"]
    assert ok["application/json"]["schema"]["$ref"].endswith("/NumberPrediction")
    interval = schemas["NumberPrediction"]["properties"]["interval"]
    # OpenAPI 3.0 ignores a `$ref`'s siblings: the nullable reference is wrapped
    assert interval["allOf"][0]["$ref"].endswith("/PredictionInterval")
    assert interval["nullable"] is True
    assert set(schemas["PredictionInterval"]["properties"]) == {"lower", "upper", "level"}
    label = schemas["FeedbackItem"]["properties"]["label"]
    assert label["type"] == "number"
