"""The live loop under sustained load: `continual-ml up --traffic` with 10-second days for 10
minutes keeps up, as issue 13 asks.

Asserted, as the issue states it: the queue stays bounded (a fixed few runs, not growing with
time); every landed day is monitored within 2 simulated days (20 s) of its file landing, and a
day still unmonitored at the end has waited less than that; every closed prediction log is in
DuckDB within 60 s. Nothing more is allowed than the issue allows.

Measured (`benchmarks/results/sustained_load_10s_days.json`, 30 minutes on a quiet machine
under the exclusive lock): days monitored after p50 0.95, p95 1.24, max 1.75 days, all 179
within 2 days; at most 3 runs queued; logs in DuckDB after p95 26 s, max 36 s. The margin is
about a quarter of a day (2.5 s) on the slowest day, so this test can still fail on one slow day
in ten minutes, and it runs wherever the suite runs: other work on the two cores slows every
stage. Run once under the shared lock while other suites ran (load average up to 14): the first 7.5
minutes held (days monitored after p50 0.9 days), then launches took 10-28 s instead of 3,
monitoring fell 6 days behind and a log waited 156 s, and two of the three tests failed.
"""

import pytest

from benchmarks import sustained_load as bench

DAY_SECONDS = 10
WITHIN_DAYS = 2  # the bound: monitored within 2 days of landing
LOG_SECONDS = 60  # and every closed log in DuckDB within a minute


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sustained")
    argv = ["--day-seconds", str(DAY_SECONDS), "--minutes", "10", "--every", "10"]
    return bench.main([*argv, "--workdir", str(folder), "--out", str(folder / "results.json")])


@pytest.mark.timeout(1800)
def test_the_queue_stays_bounded(results):
    # One run per landed file and per day had queued 41 runs in 8 minutes: a queue that grows.
    # Here at most one landing run, one log run, one report or late-label run and the retrains
    # a drift episode asks for wait at once.
    assert results["max_queued"] <= 6, results["queue_per_minute"]
    last_minutes = results["queue_per_minute"][-3:]
    assert max(m["max_queued"] for m in last_minutes) <= 6, results["queue_per_minute"]


@pytest.mark.timeout(1800)
def test_every_day_is_monitored_within_two_days_of_landing(results):
    assert results["days_landed"] >= 50
    monitored = results["monitored_after_days"]
    assert monitored["n"] >= results["days_landed"] - 2
    assert monitored["max"] <= WITHIN_DAYS, (monitored, results["stages"])
    # and none of the days still waiting at the end has waited longer than that
    assert results["unmonitored_days_waited_days"] <= WITHIN_DAYS, results


@pytest.mark.timeout(1800)
def test_every_closed_prediction_log_is_in_duckdb_within_a_minute(results):
    assert results["log_in_duckdb_after_s"]["n"] >= 20
    assert results["log_in_duckdb_after_s"]["max"] <= LOG_SECONDS, results["log_in_duckdb_after_s"]
    # and no log still waiting at any sample had waited longer
    assert results["max_oldest_log_waiting_s"] <= LOG_SECONDS, results["samples"]
