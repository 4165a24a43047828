"""The conformal calibration a regression champion is exported with: its own holdout residuals'
quantile at 90%, or none when the holdout is too small for a finite interval."""

import numpy as np
import pytest

from continual_ml.decisions.served_interval import holdout_calibration
from continual_ml.training.conformal import calibrate
from continual_ml_tests.support.regression_data import regression_config


@pytest.fixture
def config():
    """The regression dataset: the suite's `conn` applies its schema."""
    return regression_config()


def holdout(conn, version: int, truth, predicted) -> None:
    for i, (y, p) in enumerate(zip(truth, predicted, strict=True)):
        conn.execute(
            "INSERT INTO regression_holdout (candidate_version, row_id, truth, "
            "candidate_prediction) VALUES (?, ?, ?, ?)",
            [version, f"r{i}", float(y), float(p)],
        )


def test_the_champions_own_holdout_calibrates_its_interval(conn):
    rng = np.random.default_rng(0)
    truth = rng.normal(10, 3, 200)
    predicted = truth + rng.normal(0, 1, 200)
    holdout(conn, 4, truth, predicted)
    holdout(conn, 5, truth, truth)  # another version's rows are not this one's
    calibration = holdout_calibration(conn, 4)
    assert calibration == calibrate(truth, predicted, 0.9).to_dict()
    assert calibration["calibration_rows"] == 200 and calibration["normalized"] is False
    # the 181st smallest of 200 absolute residuals: one of the residuals, not an estimate
    assert calibration["half_width"] == np.sort(np.abs(truth - predicted))[180]


def test_too_few_holdout_rows_give_no_interval(conn):
    holdout(conn, 1, [1.0] * 8, [1.5] * 8)  # 9 rows are the fewest for 90%
    assert holdout_calibration(conn, 1) is None
    assert holdout_calibration(conn, 2) is None  # no holdout at all
