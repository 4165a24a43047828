"""The live loop under sustained load (10-second days for 10 minutes): it keeps up.

What is asserted is what held on two shared cores (load average 5–7 from other work): the
queue stays short, monitoring keeps pace with the days landing, and the prediction logs reach
DuckDB within a minute. The issue's stricter goal, every day monitored within 2 simulated days
(20 s) of landing, was not met there (p50 4.6, p95 12.4 days in the 30-minute run); the
README gives the figures.
"""

import pytest

from benchmarks import sustained_load as bench


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sustained")
    argv = ["--day-seconds", "10", "--minutes", "10", "--every", "10"]
    return bench.main([*argv, "--workdir", str(folder), "--out", str(folder / "results.json")])


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_queue_stays_bounded(results):
    # one run per landed day would queue ~60 runs here; measured at most 3 queued
    assert results["max_queued"] <= 6, results["samples"]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_monitoring_keeps_pace_with_the_days_landing(results):
    samples = results["samples"]
    half, last = samples[len(samples) // 2], samples[-1]
    landed = last["days_landed"] - half["days_landed"]
    monitored = last["days_monitored"] - half["days_monitored"]
    assert landed >= 25
    # falling behind shows as a smaller share (the loop before batching: about a third)
    assert monitored >= 0.9 * landed, samples
    assert results["days_not_monitored_at_the_end"] <= 10, results


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_closed_prediction_logs_are_in_duckdb_within_a_minute(results):
    assert results["log_in_duckdb_after_s"]["p95"] <= 60, results["log_in_duckdb_after_s"]
