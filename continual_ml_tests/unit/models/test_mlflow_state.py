"""What a version's MLflow run is named and tagged with, from its registry row."""

from datetime import date

from continual_ml.models.mlflow_state import run_name, standing

ROW = {"version": 4, "family": "logistic_regression", "partition_date": date(2026, 1, 11)}


def test_a_run_name_says_which_model_never_a_decision():
    assert run_name(ROW) == "v4 logistic_regression 2026-01-11"
    assert run_name({**ROW, "status": "retired"}) == run_name({**ROW, "status": "champion"})


def test_standing_says_the_registry_status_and_whether_it_serves():
    serving = standing({**ROW, "status": "champion", "status_reason": "rolled back from v3 to v4"})
    assert serving == {
        "status": "champion",
        "status_reason": "rolled back from v3 to v4",
        "champion": "true",
    }
    retired = standing({**ROW, "status": "retired", "status_reason": None})
    assert retired == {"status": "retired", "status_reason": "", "champion": "false"}
    assert (
        len(standing({**ROW, "status": "rejected", "status_reason": "x" * 9000})["status_reason"])
        == 4000
    )
