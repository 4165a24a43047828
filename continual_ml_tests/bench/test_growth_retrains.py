"""Retrains for growth on a stream that never changes: the loop uses the new rows.

`hyperplane_no_change` run as a new user would (`benchmarks.user_datasets`): the first
champion is trained on six days of history, and only growth can replace it. Asserted where the
margin is wide: growth asks, a few times (the log of the rows, not the days), and the loop ends
above its own first champion with far fewer fits than retraining every day."""

import pytest

from benchmarks.user_datasets import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    name = "hyperplane_no_change"
    report = run((name,), output=tmp_path_factory.mktemp("bench") / "user_datasets.json")
    return report["datasets"][name]


def test_growth_asks_a_few_times_and_nothing_else_does(replayed):
    summary = replayed["summary"]
    causes = summary["retrain_causes"]
    assert set(causes) == {"growth"}, causes  # no drift, no fall, no decay on unchanged data
    # 3,600 rows of history and 600 a day for 24 days: the rows grow by half 2 or 3 times
    assert 1 <= causes["growth"] <= 6
    assert summary["fits"]["loop"] <= summary["fits"]["daily"] / 3


def test_the_loop_ends_above_its_first_champion(replayed):
    """Each growth candidate is decided on three days of paired rows: at least one is promoted,
    and the loop ends above the first champion it replaced (0.8 point at b6d614a)."""
    summary = replayed["summary"]
    accuracy = summary["accuracy_all_days"]
    assert summary["promoted"] >= 1
    assert accuracy["loop"] > accuracy["static_first"]
