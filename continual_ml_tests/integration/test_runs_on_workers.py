"""Runs on workers: the scale-out profile's steps execute in Celery worker processes.

Real parts only: Postgres (Dagster storage, the Celery broker and result backend), the code
server and daemon run with docs/dagster-workers.yaml and CONTINUAL_ML_EXECUTOR=celery, and two
`continual-ml worker` processes, each in its own folder. Files dropped in the landing folder
become sensor-launched runs whose run process only orchestrates: every step's events carry the
pid of the worker process that executed it. A worker process killed (SIGKILL) in the middle of a
step fails the run with an executor error; the daemon retries it and the retry lands the file's
rows exactly once.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest

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


def test_each_step_executes_in_a_worker_process_not_in_the_run(deployment):
    scale_out = deployment.scale_out
    # Landed together, two days apart: the sensor asks for two runs at once, the queue starts
    # both, and with two pool slots their steps execute side by side.
    files = [deployment.land(day, DAY_ROWS) for day in (0, 2)]
    for path in files:
        run = scale_out.processes.wait_for(
            f"run of {path.name}", lambda p=path: finished(deployment, p.name), RUN_SECONDS
        )
        assert run.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    workers = scale_out.worker_processes()
    used = set()
    for path in files:
        [run] = deployment.runs_for(path.name)
        [run_start] = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.RUN_START)
        starts = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_START)
        assert {entry.step_key for entry in starts} >= {"observations", "current_window"}
        for entry in starts:
            # Written by the process that executed the step: a worker's pool process, in the
            # worker's own folder, never the run's process.
            pid = entry.dagster_event.pid
            assert pid != run_start.dagster_event.pid
            assert pid in workers, (entry.step_key, pid, workers)
            used.add(workers[pid])
            assert Path(psutil.Process(pid).cwd()) == scale_out.workdirs[workers[pid]]
    assert used == set(scale_out.workdirs), used
    records = [
        scale_out.instance.get_run_record_by_id(deployment.runs_for(path.name)[0].run_id)
        for path in files
    ]
    assert max(r.start_time for r in records) < min(r.end_time for r in records), "one by one"
    with warehouse_connection(deployment.warehouse, read_only=True) as conn:
        counts = dict(conn.execute("SELECT source, rows_good FROM ingested_files").fetchall())
    assert {path.name: counts.get(path.name) for path in files} == {
        path.name: DAY_ROWS for path in files
    }


def test_a_worker_killed_mid_step_fails_the_run_which_runs_again_and_lands_once(deployment):
    scale_out = deployment.scale_out
    path = deployment.land(KILLED_DAY, DAY_ROWS)
    run, start = wait_for_step_start(deployment, path.name, "observations")
    assert start.dagster_event.pid in scale_out.worker_processes()
    os.kill(start.dagster_event.pid, signal.SIGKILL)
    retry = scale_out.processes.wait_for(
        f"retry of {path.name}", lambda: finished(deployment, path.name, retries=1), RUN_SECONDS
    )
    killed = scale_out.instance.get_run_by_id(run.run_id)
    assert killed.status == dg.DagsterRunStatus.FAILURE
    succeeded = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS)
    assert "observations" not in {e.step_key for e in succeeded}, "the step ended before the kill"
    assert retry.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    assert retry.tags["dagster/parent_run_id"] == run.run_id
    # Both workers still serve: the killed pool process was replaced by its worker.
    scale_out.processes.check_alive()
    assert_landed_once(deployment, KILLED_DAY, path)
