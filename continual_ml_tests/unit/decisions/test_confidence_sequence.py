"""The confidence sequence holds its level when looked at every day, and finds real effects."""

import numpy as np
import pytest

from continual_ml.decisions.confidence_sequence import running_bounds

ROWS_PER_DAY, DAYS, SEEDS, ALPHA = 165, 60, 400, 0.05


def paired_differences(rng, n, gain, discordant=0.10):
    """Per-row correctness differences: `discordant` rows right for one model only."""
    draw = rng.random(n)
    return np.where(draw < (discordant + gain) / 2, 1, np.where(draw < discordant, -1, 0))


def crossed_on_a_daily_look(bounds, level=0.0):
    ends = np.arange(ROWS_PER_DAY, ROWS_PER_DAY * DAYS + 1, ROWS_PER_DAY) - 1
    crossed = np.nonzero(bounds.lower[ends] > level)[0]
    return int(crossed[0]) + 1 if crossed.size else None


def test_no_change_is_rarely_called_better_though_looked_at_every_day():
    # A fixed-sample test looked at daily for 60 days would cross far more often than alpha.
    false_calls = sum(
        crossed_on_a_daily_look(
            running_bounds(paired_differences(np.random.default_rng(s), 9900, 0.0), ALPHA)
        )
        is not None
        for s in range(SEEDS)
    )
    # alpha, with room for sampling noise over 400 seeds (sd ~ 0.011): not the measured value
    assert false_calls / SEEDS <= ALPHA


def test_the_upper_bound_holds_under_no_change_too():
    misses = sum(
        running_bounds(-paired_differences(np.random.default_rng(s), 9900, 0.0), ALPHA).upper.min()
        < 0
        for s in range(SEEDS)
    )
    assert misses / SEEDS <= ALPHA


def test_a_two_point_gain_is_found_within_sixty_days_in_most_seeds():
    days = [
        crossed_on_a_daily_look(
            running_bounds(paired_differences(np.random.default_rng(s), 9900, 0.02), ALPHA)
        )
        for s in range(100)
    ]
    assert sum(d is not None for d in days) >= 80


def test_a_worse_challenger_is_bounded_below_zero():
    bounds = running_bounds(paired_differences(np.random.default_rng(1), 5000, -0.04))
    assert bounds.upper[-1] < 0


def test_bounds_contain_the_sample_mean_and_narrow():
    d = paired_differences(np.random.default_rng(2), 2000, 0.01)
    bounds = running_bounds(d)
    assert np.all(bounds.lower <= bounds.upper)
    assert bounds.lower[-1] <= d.mean() <= bounds.upper[-1]
    assert bounds.upper[-1] - bounds.lower[-1] < (bounds.upper[99] - bounds.lower[99]) / 3


def test_a_changing_mean_is_covered_on_average_not_per_row():
    # the first half better, the second worse: the average is 0, and 0 stays inside
    rng = np.random.default_rng(4)
    d = np.r_[paired_differences(rng, 3000, 0.03), paired_differences(rng, 3000, -0.03)]
    bounds = running_bounds(d)
    assert bounds.lower[-1] < 0 < bounds.upper[-1]


def test_deterministic_for_the_same_rows():
    d = paired_differences(np.random.default_rng(3), 1000, 0.02)
    first, again = running_bounds(d), running_bounds(d.copy())
    assert np.array_equal(first.lower, again.lower) and np.array_equal(first.upper, again.upper)


@pytest.mark.parametrize("bad", [[0.0, 1.5], [np.nan], [-2.0]])
def test_values_outside_minus_one_to_one_are_refused(bad):
    with pytest.raises(ValueError, match="within"):
        running_bounds(bad)


def test_no_rows_no_bounds():
    assert len(running_bounds([])) == 0
