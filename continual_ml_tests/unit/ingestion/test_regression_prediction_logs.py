"""A regression champion's prediction log lands as numbers: each prediction's number in
`predictions.prediction` (DOUBLE), each feedback label in `labels` (DOUBLE); what is not a finite
number is quarantined with its reason."""

import json
from datetime import date

import pytest

from continual_ml import ingestion
from continual_ml.monitoring.served_traffic import served_performance
from continual_ml.serving.prediction_log import RotatingJsonlWriter, closed_logs
from continual_ml.serving.prediction_records import prediction_records
from continual_ml_tests.support.regression_data import regression_config

FEATURES = {"x0": 0.5, "x1": -1.0, "segment": "south"}
SERVED_AT = "2026-03-04T10:00:00.123456+00:00"


@pytest.fixture
def config():
    """The regression dataset: the suite's `conn` applies its schema."""
    return regression_config()


def feedback(prediction_id: str, label) -> dict:
    return {
        "kind": "feedback",
        "received_at": "2026-03-05T08:00:00+00:00",
        "prediction_id": prediction_id,
        "label": label,
    }


def logged(tmp_path, records: list[dict], extra_lines: tuple[str, ...] = ()):
    """`records` written by the service's own log writer, then `extra_lines` appended."""
    writer = RotatingJsonlWriter(tmp_path / "logs", "predictions", max_records=100)
    writer.write(records)
    writer.close()
    [path] = closed_logs(tmp_path / "logs")
    with path.open("a") as handle:
        handle.writelines(line + "\n" for line in extra_lines)
    return path


def test_numbers_and_numeric_feedback_land_and_the_rest_is_quarantined(conn, config, tmp_path):
    interval = {"lower": 10.0, "upper": 14.5, "level": 0.9}  # logged, not landed (yet)
    outputs = [
        {"prediction": 12.25, "interval": interval, "latency_ms": 0.1},
        {"prediction": -3.5, "interval": None, "latency_ms": 0.1},
    ]
    records, counts = prediction_records(2, SERVED_AT, [FEATURES, FEATURES], outputs)
    assert counts == {"number": 2}
    first, second = (r["prediction_id"] for r in records)
    bad = {**records[0], "prediction_id": "ab12", "prediction": "Infinity"}
    path = logged(
        tmp_path,
        [*records, feedback(first, 11.25), feedback(second, 7)],
        (json.dumps(bad), json.dumps(feedback(second, "cheap") | {"received_at": SERVED_AT})),
    )
    report = ingestion.ingest_prediction_log(conn, config, path)
    assert (report.rows_good, report.rows_quarantined) == (4, 2)
    assert report.partitions == {date(2026, 3, 4): 2}
    reasons = sorted(r for (r,) in conn.execute("SELECT reason FROM quarantined_rows").fetchall())
    assert reasons == [
        "label: 'cheap' is not a number",
        "prediction: 'Infinity' is not a finite number",
    ]
    stored = dict(conn.execute("SELECT prediction_id, prediction FROM predictions").fetchall())
    assert stored == {first: 12.25, second: -3.5}
    day = date(2026, 3, 4)
    joined = ingestion.labelled_predictions(conn, config, day, day).set_index("prediction_id")
    assert joined["label"].to_dict() == {first: 11.25, second: 7.0}
    [served] = served_performance(conn, regression=True).to_dict("records")
    assert (served["model_version"], served["n_predictions"], served["n_labelled"]) == (2, 2, 2)
    assert served["realized_mae"] == pytest.approx((1.0 + 10.5) / 2)
    assert served["realized_rmse"] == pytest.approx(((1.0 + 10.5**2) / 2) ** 0.5)


def test_the_predictions_table_holds_a_double_and_no_classes(conn, config):
    columns = dict(
        conn.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'predictions'"
        ).fetchall()
    )
    assert columns["prediction"] == "DOUBLE"
    assert "probabilities" not in columns and "predicted_class" not in columns
