"""What the ingestion tests land: a day's observations as CSV, prediction-log records as the
service writes them; and the check that `observations` holds exactly the rows landed."""

import numpy as np
import pandas as pd

from continual_ml.demo.synthetic_stream import generate_batch, partition_date

N_ROWS = 20


def day_rows(config, index=0, n=N_ROWS) -> pd.DataFrame:
    return generate_batch(config, partition_date(config, index)).head(n).reset_index(drop=True)


def write_csv(path, rows: pd.DataFrame):
    rows.to_csv(path, index=False)
    return path


def stored(conn) -> pd.DataFrame:
    return conn.execute("SELECT * FROM observations ORDER BY row_id").df()


def assert_intact(conn, expected: pd.DataFrame, config):
    """The rows in `observations` are exactly `expected`, value for value."""
    got = stored(conn)
    expected = expected.sort_values("row_id").reset_index(drop=True)
    assert got["row_id"].tolist() == expected["row_id"].tolist()
    np.testing.assert_allclose(got[config.numeric_features], expected[config.numeric_features])
    assert got["segment"].tolist() == expected["segment"].tolist()
    assert got["label"].tolist() == expected["label"].tolist()
    # the warehouse keeps microseconds; the generator makes nanoseconds
    assert ((got["event_time"] - expected["event_time"]).abs() < pd.Timedelta("1us")).all()
    assert (got["partition_date"] == expected["event_time"].dt.normalize()).all()


def prediction_record(prediction_id, features, **fields) -> dict:
    """A prediction as the service logs it; `fields` replace or add to the defaults."""
    record = {
        "kind": "prediction",
        "prediction_id": prediction_id,
        "model_version": 3,
        "served_at": "2026-01-09T10:00:00.123456+00:00",
        "latency_ms": 0.8,
        "features": features,
        "probabilities": {"0": 0.25, "1": 0.75},
        "predicted_class": 1,
    }
    return record | fields


def feedback_record(prediction_id, label, received_at="2026-01-09T12:00:00+00:00") -> dict:
    """The true label of a prediction, as the service logs it."""
    return {
        "kind": "feedback",
        "prediction_id": prediction_id,
        "label": label,
        "received_at": received_at,
    }
