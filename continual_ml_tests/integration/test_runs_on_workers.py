"""Runs on workers: the scale-out profile sends each run, whole, to a Celery worker.

Real parts only: Postgres (Dagster storage, the Celery broker and result backend), the code
server, the daemon and two `continual-ml worker` processes (each in its own folder) on
docs/dagster-workers.yaml. Files dropped in the landing folder become sensor-launched runs that
the daemon sends to the broker: each run starts and executes every step in one worker pool
process, never on the launching side. A worker's pool process killed (SIGKILL) in the middle of
a step turns the run's task FAILURE (Celery's WorkerLostError); the monitoring daemon fails the
run on its next poll, the retry daemon runs it again, and the retry lands the file's rows exactly
once.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from continual_ml.warehouse.connection import warehouse_connection
from continual_ml_tests.support.scale_out import running_scale_out
from continual_ml_tests.support.worker_runs import (
    DAY_ROWS,
    RUN_SECONDS,
    Deployment,
    assert_landed_once,
    ducklake_profile,
    finished,
    step_events,
    wait_for_step_start,
    warehouse_location,
)

KILLED_DAY = 1
POLL_SECONDS = 30  # run_monitoring.poll_interval_seconds in docs/dagster-workers.yaml
# The daemon's own iteration around its poll (load the runs, ask for each, mark the failure).
MONITORING_SLACK_SECONDS = 15

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    """The profile on its warehouse: DuckLake, catalog in the Postgres that holds Dagster's
    storage and the broker, data on an S3 store on loopback; two slots for per-day steps."""
    state = tmp_path_factory.mktemp("scale-out")
    with ducklake_profile(state) as (postgres, settings):
        with running_scale_out(
            state, settings, workers=2, warehouse_slots=2, postgres=postgres
        ) as scale_out:
            yield Deployment(scale_out, state / "landing", warehouse_location(settings))


def test_each_run_executes_whole_in_one_worker_process(deployment):
    scale_out = deployment.scale_out
    # Landed together, two days apart: two runs, one after the other (landed days have one run
    # slot, their lane's), each on whichever worker is free.
    files = [deployment.land(day, DAY_ROWS) for day in (0, 2)]
    for path in files:
        run = scale_out.processes.wait_for(
            f"run of {path.name}", lambda p=path: finished(deployment, p.name), RUN_SECONDS
        )
        assert run.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    workers = scale_out.worker_processes()
    for path in files:
        [run] = deployment.runs_for(path.name)
        assert run.tags[DAGSTER_CELERY_TASK_ID_TAG]
        [run_start] = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.RUN_START)
        starts = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_START)
        assert {entry.step_key for entry in starts} >= {"observations", "current_window"}
        # The run started in a worker's pool process, in the worker's own folder, and every step
        # executed in that same process.
        pid = run_start.dagster_event.pid
        assert pid in workers, (pid, workers)
        assert Path(psutil.Process(pid).cwd()) == scale_out.workdirs[workers[pid]]
        assert {entry.dagster_event.pid for entry in starts} == {pid}
    with warehouse_connection(deployment.warehouse, read_only=True) as conn:
        counts = dict(conn.execute("SELECT source, rows_good FROM ingested_files").fetchall())
    assert {path.name: counts.get(path.name) for path in files} == {
        path.name: DAY_ROWS for path in files
    }


def test_a_worker_process_killed_mid_step_fails_the_run_which_runs_again_and_lands_once(
    deployment,
):
    scale_out = deployment.scale_out
    path = deployment.land(KILLED_DAY, DAY_ROWS)
    run, start = wait_for_step_start(deployment, path.name, "observations")
    # The run's pool process, not the worker: the worker's main process stays and reports it.
    assert start.dagster_event.pid in scale_out.worker_processes()
    os.kill(start.dagster_event.pid, signal.SIGKILL)
    killed_at = time.time()
    retry = scale_out.processes.wait_for(
        f"retry of {path.name}", lambda: finished(deployment, path.name, retries=1), RUN_SECONDS
    )
    killed = scale_out.instance.get_run_record_by_id(run.run_id)
    assert killed.dagster_run.status == dg.DagsterRunStatus.FAILURE
    # Failed by the monitoring daemon, on what Celery recorded for the task (WorkerLostError).
    [failure] = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.RUN_FAILURE)
    assert "the run's task ended FAILURE" in failure.message, failure.message
    assert killed.end_time - killed_at <= POLL_SECONDS + MONITORING_SLACK_SECONDS
    succeeded = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS)
    assert "observations" not in {e.step_key for e in succeeded}, "the step ended before the kill"
    assert retry.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    assert retry.tags["dagster/parent_run_id"] == run.run_id
    # Both workers still serve: the killed pool process was replaced by its worker.
    scale_out.processes.check_alive()
    assert_landed_once(deployment, KILLED_DAY, path)
