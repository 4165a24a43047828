"""A worker lost whole, in the middle of a step: the run fails within the stated bound (the
worker's heartbeat stale, plus one monitoring poll), its retry succeeds on the other worker within
three minutes of the loss, and the day's rows are there once. No limit on a run's runtime.

Real parts as in test_runs_on_workers: Postgres (Dagster's storage, the Celery broker and result
backend), the code server, daemon and two `continual-ml worker` processes on
docs/dagster-workers.yaml unchanged, DuckLake with its catalog in the same Postgres. "Lost
whole": every process of the worker that executes the run is killed at once (SIGKILL to its
process group), so no process is left to report anything. A worker started again at once under
the same name (a container restarted) beats again, but not for the run it had taken: that run
fails too, within the same bound.
"""

from __future__ import annotations

import os
import signal
import time

import dagster as dg
import pytest

from continual_ml.app.workers.liveness import STALE_SECONDS, TOUCH_SECONDS
from continual_ml_tests.support.lake_servers import lake_environment
from continual_ml_tests.support.postgres_server import running_postgres
from continual_ml_tests.support.processes import free_port
from continual_ml_tests.support.scale_out import STARTUP_SECONDS, running_scale_out
from continual_ml_tests.support.worker_runs import (
    DAY_ROWS,
    RUN_SECONDS,
    Deployment,
    assert_landed_once,
    finished,
    step_events,
    wait_for_step_start,
    warehouse_location,
)

# The bound docs/scaling.md states: the heartbeat turns stale (30 s), then the next monitoring
# poll (30 s), with room for a loaded machine; test_compose_profile holds the file to it.
FAILED_BOUND_SECONDS = 120
RETRIED_BOUND_SECONDS = 180  # issue 28: the retry has succeeded within three minutes of the loss
LOST_DAY = 0  # the earliest day: its run's drift report needs no earlier day

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture
def deployment(tmp_path):
    (tmp_path / "landing").mkdir()
    with running_postgres(free_port(), tmp_path / "postgres.log") as postgres:
        settings = {
            **lake_environment(postgres, tmp_path / "lake"),
            "CONTINUAL_ML_LANDING_DIR": str(tmp_path / "landing"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        }
        with running_scale_out(
            tmp_path, settings, workers=2, warehouse_slots=2, postgres=postgres
        ) as scale_out:
            yield Deployment(scale_out, tmp_path / "landing", warehouse_location(settings))


def kill_the_worker_of_a_landed_day(deployment):
    """Land a day and SIGKILL the whole worker running it, main process and pool, mid-step:
    nothing is left to report the run. The file, the run, the worker's name and when."""
    scale_out = deployment.scale_out
    path = deployment.land(LOST_DAY, DAY_ROWS)
    run, start = wait_for_step_start(deployment, path.name, "observations")
    host = scale_out.worker_processes()[start.dagster_event.pid]
    os.killpg(scale_out.processes.running.pop(host).pid, signal.SIGKILL)
    return path, run, host, time.time()


def test_a_lost_worker_fails_its_run_in_bounded_time_and_the_retry_lands_once(deployment):
    scale_out = deployment.scale_out
    path, run, host, lost_at = kill_the_worker_of_a_landed_day(deployment)
    scale_out.workdirs.pop(host)

    retry = scale_out.processes.wait_for(
        f"the end of {path.name}'s run and of its retry",
        lambda: finished(deployment, path.name, retries=1),
        FAILED_BOUND_SECONDS + RUN_SECONDS,
    )
    lost = scale_out.instance.get_run_record_by_id(run.run_id)
    retried = scale_out.instance.get_run_record_by_id(retry.run_id)
    print(
        f"lost worker timeline (s after the kill): run failed {lost.end_time - lost_at:.0f},"
        f" retry started {retried.start_time - lost_at:.0f},"
        f" retry succeeded {retried.end_time - lost_at:.0f}"
    )
    assert lost.dagster_run.status == dg.DagsterRunStatus.FAILURE
    # Failed by the monitoring daemon on the launcher's word: the worker's heartbeat went stale.
    [failure] = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.RUN_FAILURE)
    assert f"worker {host}@" in failure.message and "no heartbeat" in failure.message, failure
    assert lost.end_time - lost_at <= FAILED_BOUND_SECONDS
    succeeded = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS)
    assert "observations" not in {e.step_key for e in succeeded}, "the step ended before the kill"

    assert retry.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    assert retry.tags["dagster/parent_run_id"] == run.run_id
    assert retried.end_time - lost_at <= RETRIED_BOUND_SECONDS
    # On the worker that is left, whole.
    [other] = scale_out.workdirs
    for entry in step_events(scale_out.instance, retry.run_id, dg.DagsterEventType.STEP_START):
        assert scale_out.worker_processes()[entry.dagster_event.pid] == other
    assert_landed_once(deployment, LOST_DAY, path)


def test_a_worker_started_again_under_its_name_fails_the_run_it_had_taken(deployment):
    scale_out = deployment.scale_out
    path, run, host, lost_at = kill_the_worker_of_a_landed_day(deployment)
    # Back at once, under its name, beating again.
    scale_out.start_worker(host)
    scale_out.processes.wait_for("the worker back", scale_out.workers_ready, STARTUP_SECONDS)
    # Beating again before its last beat went stale, the worker can only be judged by its boot
    # time; a start slower than that (a loaded machine) may have the run failed as silent first.
    beat_kept_fresh = time.time() - lost_at < STALE_SECONDS - TOUCH_SECONDS

    retry = scale_out.processes.wait_for(
        f"the end of {path.name}'s run and of its retry",
        lambda: finished(deployment, path.name, retries=1),
        FAILED_BOUND_SECONDS + RUN_SECONDS,
    )
    lost = scale_out.instance.get_run_record_by_id(run.run_id)
    assert lost.dagster_run.status == dg.DagsterRunStatus.FAILURE
    [failure] = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.RUN_FAILURE)
    print(f"worker back within the heartbeat's staleness: {beat_kept_fresh}; {failure.message}")
    assert f"worker {host}@" in failure.message, failure
    assert "started again" in failure.message or not beat_kept_fresh, failure
    assert lost.end_time - lost_at <= FAILED_BOUND_SECONDS
    assert retry.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    assert retry.tags["dagster/parent_run_id"] == run.run_id
    assert_landed_once(deployment, LOST_DAY, path)
