"""Issue 17's proof: public datasets nobody here made, run end to end as a new user would
(`init --from`, `ingest`, `bootstrap`, days landed with their labels late)."""

import pytest

from benchmarks.user_datasets import run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["phishing", "shuttle"])
def test_the_loop_runs_on_a_users_dataset_and_keeps_up_with_daily_retraining(name, tmp_path):
    result = run((name,), output=tmp_path / "user_datasets.json")[name]
    summary, days = result["summary"], result["days"]
    assert summary["days_replayed"] == len(days) > 5
    # every day was monitored without its labels, then re-measured once they landed
    assert all(day["realized_accuracy"] is not None for day in days)
    accuracy = summary["mean_accuracy"]
    assert accuracy["loop"] >= accuracy["daily"] - 0.03
    assert accuracy["loop"] >= accuracy["static"] - 0.03
    assert summary["promotions"] <= summary["retrains_requested"] < len(days)
