"""A run's worker judged from its Celery task and the worker's heartbeat."""

import pytest

from continual_ml.app.supervision.dagster_internals import run_worker_health_result
from continual_ml.app.workers.heartbeats import Heartbeat
from continual_ml.app.workers.run_health import RunWorker, run_worker_health

STALE = 30.0
STARTED_AT = 1_790_000_000.0  # the run's start, seconds since the epoch by the worker's clock
WORKER = "worker-0@host"


def health(state: str, heartbeat: Heartbeat | None, started_at=STARTED_AT):
    return run_worker_health(state, WORKER, started_at, heartbeat, STALE)


def beat(age: float, booted_at=STARTED_AT - 300) -> Heartbeat:
    return Heartbeat(booted_at=booted_at, age_seconds=age)


def test_a_started_run_on_a_worker_that_beats_is_running_however_long_it_takes():
    assert health("STARTED", beat(0.5)).status is RunWorker.RUNNING
    assert health("STARTED", beat(STALE)).status is RunWorker.RUNNING
    # The run's own age does not count: no limit on a slow run whose worker is alive.
    long_ago = STARTED_AT - 3 * 86_400
    verdict = health("STARTED", beat(1.0, long_ago - 86_400), long_ago)
    assert verdict.status is RunWorker.RUNNING


def test_a_worker_silent_past_the_staleness_fails_its_run():
    verdict = health("STARTED", beat(STALE + 0.1))
    assert verdict.status is RunWorker.FAILED
    assert WORKER in verdict.reason and "no heartbeat for 30 s" in verdict.reason


def test_a_worker_started_again_under_its_name_fails_the_run_it_had_taken():
    # Beating again (a container restarted), but a newer process than the one that took the run.
    verdict = health("STARTED", beat(1.0, booted_at=STARTED_AT + 20))
    assert verdict.status is RunWorker.FAILED
    assert "started again" in verdict.reason


def test_a_worker_that_never_beat_fails_its_run():
    assert health("STARTED", None).status is RunWorker.FAILED


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("SUCCESS", RunWorker.SUCCESS),
        # A pool process killed under a live worker: Celery itself marks the task (WorkerLostError).
        ("FAILURE", RunWorker.FAILED),
        ("REVOKED", RunWorker.FAILED),
        ("PENDING", RunWorker.UNKNOWN),
        ("RETRY", RunWorker.UNKNOWN),
    ],
)
def test_an_ended_or_unstarted_task_is_judged_by_its_state_alone(state, status):
    assert health(state, None).status is status
    assert health(state, beat(STALE * 10)).status is status


@pytest.mark.parametrize("status", list(RunWorker))
def test_every_verdict_is_one_dagsters_monitoring_daemon_reads(status):
    result = run_worker_health_result(status.value, "why")
    assert (result.status.name, result.msg) == (status.value, "why")
