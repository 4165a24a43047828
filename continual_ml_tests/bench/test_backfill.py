"""The backfill benchmark against the issue's target: a year of history onboarded in 5 minutes."""

import pytest

from benchmarks import backfill as bench

DAYS = 365


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return bench.run(days=DAYS, rows_per_day=2000, sample=3, workdir=tmp_path_factory.mktemp("bf"))


@pytest.mark.timeout(1800)
def test_every_day_of_the_year_is_monitored(results):
    assert results["days_with"] == {asset: DAYS for asset in bench.MONITORED}
    assert results["warehouse_days"] == {
        "observations": DAYS,
        "drift_reports": DAYS,
        "performance_history": DAYS,
    }


@pytest.mark.timeout(1800)
def test_a_year_is_onboarded_within_five_minutes(results):
    # ingest, bootstrap and the backfill; measured 148 s on two shared cores (load average 4)
    assert results["onboarding_s"] <= 300, results


@pytest.mark.timeout(1800)
def test_a_day_costs_far_less_in_one_run_than_in_a_run_of_its_own(results):
    # side by side on the same home; measured 52× with the machine at load average 4
    assert results["per_day_cost_ratio"] >= 10, results
