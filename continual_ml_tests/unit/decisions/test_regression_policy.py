"""The policy's performance checks for an error: a rise above the champion's promoted error,
and a decay against its own first partitions, both as shares of the champion's error."""

import pytest

from continual_ml.decisions.regression_policy import error_decay_finding, error_rise_finding


def test_a_rise_beyond_the_allowed_share_retrains_and_says_how_far():
    rose, why = error_rise_finding(
        0.05, realized_error=2.2, estimated_error=None, champion_error=2.0
    )
    assert rose and "10.0% above the champion's 2.000" in why and "more than" in why


def test_a_rise_within_the_share_or_a_fall_does_not():
    assert not error_rise_finding(0.05, 2.08, None, 2.0)[0]
    fell, why = error_rise_finding(0.05, 1.5, None, 2.0)
    assert not fell and "at or below" in why


def test_exactly_the_allowed_rise_is_within_it():
    assert not error_rise_finding(0.25, 1.25, None, 1.0)[0]


def test_realized_wins_over_estimated_and_nothing_known_finds_nothing():
    assert error_rise_finding(0.05, 1.0, 5.0, 1.0)[0] is False
    assert error_rise_finding(0.05, None, 5.0, 1.0)[0] is True
    assert error_rise_finding(0.05, None, None, 1.0) == (False, None)
    assert "no positive champion error" in error_rise_finding(0.05, 1.0, None, None)[1]


@pytest.mark.parametrize(
    ("errors", "decayed"),
    [
        ([1.0, 1.0, 1.0, 1.01, 1.01, 1.01], False),  # 1 % worse, 2 % allowed
        ([1.0, 1.0, 1.0, 1.05, 1.05, 1.05], True),
        ([1.0, 1.0, 1.0, 0.9, 0.9, 0.9], False),  # better
    ],
)
def test_decay_compares_the_last_partitions_with_the_first(errors, decayed):
    assert error_decay_finding(3, 0.02, errors)[0] is decayed


def test_decay_off_or_too_short_finds_nothing():
    assert error_decay_finding(0, 0.02, [1.0, 2.0, 3.0]) == (False, None)
    assert error_decay_finding(3, 0.02, [1.0, 2.0, 3.0]) == (False, None)
