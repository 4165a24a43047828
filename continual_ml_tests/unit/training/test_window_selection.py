"""The training window chosen by time-ordered validation among candidate lengths."""

from datetime import timedelta

import numpy as np
import pytest

from continual_ml.training.window_selection import choose_window, validation_block, window_start
from continual_ml_tests.support.window_rows import FIRST, dataset, days_of_rows, last_day


def test_after_a_change_the_window_that_starts_after_it_is_chosen():
    rows = days_of_rows(60, 40, flip_from=50)
    choice = choose_window(dataset([7, 30, "all"]), rows, last_day(rows))
    assert choice.chosen == "7d"
    assert choice.start == last_day(rows) - timedelta(days=6)
    scores = choice.scores()
    assert scores["7d"] > scores["30d"] and scores["7d"] > scores["all"]
    # scored on the newest whole days holding 200 rows: 5 days of 40
    assert choice.validation == (last_day(rows) - timedelta(days=4), last_day(rows), 200)


def test_on_a_stable_concept_a_longer_window_is_chosen():
    # 20 features, 10 rows a day: 7 days is too few rows to learn well from
    rows = days_of_rows(60, 10)
    choice = choose_window(dataset([7, 30, "all"]), rows, last_day(rows))
    assert choice.chosen in ("30d", "all")
    assert choice.scores()[choice.chosen] > choice.scores()["7d"]


def test_a_tie_goes_to_the_longer_window():
    # classes far apart on x0 are told apart exactly by a model from any of the windows
    rows = days_of_rows(40, 50, seed=5)
    rows["label"] = (rows["x0"] > 0).astype(int)
    rows["x0"] += np.where(rows["label"] == 1, 10.0, -10.0)
    choice = choose_window(dataset([7, "all"]), rows, last_day(rows))
    scores = choice.scores()
    assert scores["7d"] == scores["all"] == 1.0
    assert choice.chosen == "all"
    assert choice.start == FIRST


def test_the_floor_in_rows_widens_a_short_window():
    rows = days_of_rows(30, 20)
    choice = choose_window(dataset([3], min_rows=200), rows, last_day(rows))
    # 3 days hold 60 rows; the newest 200 start ten days back
    assert choice.start == last_day(rows) - timedelta(days=9)
    assert choice.candidates[0].n_rows == 200
    assert choice.reason == "one window to choose from"


def test_lengths_covering_the_same_rows_are_one_candidate():
    rows = days_of_rows(20, 30)
    choice = choose_window(dataset([30, 90, "all"]), rows, last_day(rows))
    assert [c.name for c in choice.candidates] == ["30d=90d=all"]
    assert choice.scores() == {}


def test_too_little_history_to_validate_takes_the_longest_window():
    rows = days_of_rows(6, 50)
    choice = choose_window(dataset([2, "all"], validation_rows=200), rows, last_day(rows))
    assert choice.chosen == "all"
    assert choice.scores() == {}
    assert "too little history" in choice.reason


def test_the_validation_block_is_whole_days():
    days = np.array([FIRST] * 5 + [FIRST + timedelta(days=1)] * 3 + [FIRST + timedelta(2)] * 3)
    assert validation_block(days, 3) == FIRST + timedelta(days=2)
    assert validation_block(days, 4) == FIRST + timedelta(days=1)
    assert validation_block(days, 100) == FIRST


@pytest.mark.parametrize(("length", "expected"), [(1, 9), ("all", 0), (30, 0)])
def test_window_start_never_reaches_before_the_first_row(length, expected):
    days = np.array([FIRST + timedelta(days=d) for d in range(10)])
    assert window_start(days, length, 0, FIRST + timedelta(days=9)) == FIRST + timedelta(expected)
