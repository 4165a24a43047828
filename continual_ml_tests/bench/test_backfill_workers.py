"""The year's backfill on 1 and 2 workers, beside the embedded single run."""

import pytest

from benchmarks import backfill_workers as bench

DAYS = 365
SLOTS = (1, 2)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return bench.run(DAYS, 2000, SLOTS, days_per_run=30, workdir=tmp_path_factory.mktemp("bw"))


@pytest.mark.timeout(3600)
def test_every_day_is_monitored_in_every_configuration(results):
    assert [m["run_slots"] for m in results["workers"]] == list(SLOTS)
    for measured in results["workers"]:
        assert measured["days_with"] == {"drift_report": DAYS, "model_performance": DAYS}
        assert measured["runs"] == len(bench.chunks(DAYS, 30))


@pytest.mark.timeout(3600)
def test_the_run_slots_are_used(results):
    # N slots: N runs in progress at once (launching, orchestrating or waiting for the pool).
    for measured in results["workers"]:
        assert measured["most_runs_at_once"] == measured["run_slots"], measured


@pytest.mark.timeout(3600)
def test_where_the_time_goes_is_measured(results):
    # Every run goes through the broker to a worker: a part that reads 0 means its event was
    # missed; the parts add up to the launch.
    for measured in results["workers"]:
        split = measured["per_run_mean"]
        parts = (split["send_s"], split["handoff_s"], split["start_s"])
        assert all(part > 0 for part in parts), split
        assert sum(parts) == pytest.approx(split["launch_s"], abs=0.05), split
        assert 0 <= split["between_steps_s"] < split["run_s"], split
        assert {"observations", "drift_report", "model_performance"} <= set(split["steps_s"])
    assert results["attach_s"] > 0
