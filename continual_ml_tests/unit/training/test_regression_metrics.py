"""MAE, RMSE, R² and MAPE, with the reason a sample cannot define one, overall and per slice."""

import numpy as np
import pytest
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    r2_score,
)

from continual_ml.training.regression_metrics import per_slice, regression_report, row_errors


def test_the_report_agrees_with_scikit_learn():
    rng = np.random.default_rng(3)
    truth = rng.normal(10, 3, size=500)
    prediction = truth + rng.normal(0, 1, size=500)
    report = regression_report(truth, prediction)
    assert report["mae"] == pytest.approx(mean_absolute_error(truth, prediction))
    assert report["rmse"] == pytest.approx(np.sqrt(mean_squared_error(truth, prediction)))
    assert report["r2"] == pytest.approx(r2_score(truth, prediction))
    assert report["mape"] == pytest.approx(mean_absolute_percentage_error(truth, prediction))
    assert report["n"] == 500 and report["undefined"] == {}


def test_mape_is_undefined_when_an_actual_is_zero_and_r2_when_they_are_all_equal():
    report = regression_report([0.0, 0.0, 0.0], [1.0, -1.0, 0.0])
    assert np.isnan(report["mape"]) and np.isnan(report["r2"])
    assert report["undefined"] == {"mape": "an actual is zero", "r2": "the actuals are all equal"}
    assert report["mae"] == pytest.approx(2 / 3)


def test_no_rows_define_nothing():
    report = regression_report([], [])
    assert report["n"] == 0 and set(report["undefined"]) == {"mae", "rmse", "r2", "mape"}


def test_slices_are_sorted_with_missing_values_last():
    reports = per_slice([1.0, 2.0, 3.0, 5.0], [1.0, 3.0, 3.0, 4.0], ["b", "a", None, "b"])
    assert list(reports) == ["a", "b", None]
    assert [reports[k]["mae"] for k in reports] == [1.0, 0.5, 0.0]


@pytest.mark.parametrize(
    ("truth", "prediction"), [([1.0, np.nan], [1.0, 2.0]), ([1.0], [1.0, 2.0])]
)
def test_bad_input_is_refused(truth, prediction):
    with pytest.raises(ValueError):
        regression_report(truth, prediction)


def test_row_errors_are_the_gates_losses():
    assert row_errors([1.0, 2.0], [0.0, 5.0], "absolute_error").tolist() == [1.0, 3.0]
    assert row_errors([1.0, 2.0], [0.0, 5.0], "squared_error").tolist() == [1.0, 9.0]
    with pytest.raises(ValueError, match="unsupported"):
        row_errors([1.0], [1.0], "accuracy")
