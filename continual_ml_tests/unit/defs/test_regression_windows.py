"""A regression candidate's window is chosen without fitting: the longest configured length
(window validation scores class probabilities), so several candidates never fail a run."""

from datetime import date

import duckdb

from continual_ml.defs.training.windows import longest_window_only
from continual_ml.training import window
from continual_ml.warehouse.schema import apply_schema
from continual_ml.warehouse.sql import insert_frame
from continual_ml_tests.support.regression_data import regression_config, regression_days


def test_the_longest_candidate_is_kept():
    config = regression_config(training_window={"candidates_days": [3, 7]})
    assert longest_window_only(config).model.training_window.candidates_days == (7,)
    config = regression_config(training_window={"candidates_days": [3, "all"], "min_rows": 10})
    narrowed = longest_window_only(config).model.training_window
    assert (narrowed.candidates_days, narrowed.min_rows) == (("all",), 10)


def test_several_candidates_choose_a_window_without_fitting(tmp_path):
    config = regression_config(training_window={"candidates_days": [1, 2, "all"]})
    rows = regression_days("2026-03-01", 8, seed=0)
    stored = rows.drop(columns=["sale_id", "sold_at"]).assign(
        row_id=rows["sale_id"],
        event_time=rows["sold_at"],
        partition_date=rows["sold_at"].dt.date,
        batch_id="b",
    )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        apply_schema(conn, config)
        insert_frame(conn, "observations", stored)
        choice = window.select_window(conn, longest_window_only(config), date(2026, 3, 8))
    assert (choice.chosen, choice.start) == ("all", date(2026, 3, 1))
    assert choice.reason == "one window to choose from"
