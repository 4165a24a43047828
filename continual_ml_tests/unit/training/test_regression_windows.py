"""A regression candidate's window is validated as a classifier's is: each candidate length is
fitted on the rows before the newest block and scored on it by the gate's error metric, and the
lowest error wins; in a shift episode, the rows since the onset against the longest window."""

from datetime import date

import pandas as pd
import pytest

from continual_ml.training.episode_window import SINCE_SHIFT, choose_since_shift
from continual_ml.training.window_selection import choose_window
from continual_ml_tests.support.regression_data import PER_DAY, regression_config, regression_days


def stored(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as the warehouse holds them."""
    return rows.drop(columns=["sale_id", "sold_at"]).assign(
        row_id=rows["sale_id"], event_time=rows["sold_at"], partition_date=rows["sold_at"].dt.date
    )


def shifted_history() -> pd.DataFrame:
    """Six days of the old concept, then four of the new one (the first number's effect flips)."""
    before = regression_days("2026-03-01", 6, seed=1)
    after = regression_days("2026-03-07", 4, seed=2, shift=True)
    return stored(pd.concat([before, after], ignore_index=True))


@pytest.mark.parametrize("metric", ["absolute_error", "squared_error"])
def test_the_window_that_predicts_the_newest_rows_best_is_chosen(metric):
    config = regression_config(
        training_window={"candidates_days": [3, "all"], "validation_rows": PER_DAY}
    )
    config = config.model_copy(
        update={"policy": config.policy.model_copy(update={"gate_metric": metric})}
    )
    choice = choose_window(config, shifted_history(), date(2026, 3, 10))
    scores = choice.scores()
    # Both fitted and scored on the newest days, which the days since the shift describe best.
    assert set(scores) == {"3d", "all"}
    assert scores["3d"] < scores["all"]
    assert (choice.chosen, choice.start, choice.metric) == ("3d", date(2026, 3, 8), metric)
    first, last, n_rows = choice.validation
    assert (first >= date(2026, 3, 8), last, n_rows >= PER_DAY) == (True, date(2026, 3, 10), True)


def test_an_episode_validates_the_rows_since_the_shift_against_the_longest():
    config = regression_config(training_window={"candidates_days": [7, "all"], "min_rows": 100})
    choice = choose_since_shift(config, shifted_history(), date(2026, 3, 7), date(2026, 3, 10))
    assert set(choice.scores()) == {SINCE_SHIFT, "all"}
    assert choice.chosen == SINCE_SHIFT
    assert choice.scores()[SINCE_SHIFT] < choice.scores()["all"]
    assert not choice.concept_moved
