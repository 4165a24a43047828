"""A worker host lost whole, in the middle of a step: the run ends, failed, within the instance's
`max_runtime_seconds` (plus one monitoring poll), and its retry lands the day once.

Real parts as in test_runs_on_workers: Postgres (Dagster's storage, the Celery broker and result
backend), the code server and daemon on docs/dagster-workers.yaml (its longest run shortened
here, the only change), two `continual-ml worker` processes, DuckLake with its catalog in the
same Postgres. "The host is lost": every process of the worker that executes the step is killed
at once (SIGKILL to its process group), so no process is left to report the step's end.
"""

from __future__ import annotations

import os
import signal

import dagster as dg
import pytest

from continual_ml_tests.support.lake_servers import lake_environment
from continual_ml_tests.support.postgres_server import running_postgres
from continual_ml_tests.support.processes import free_port
from continual_ml_tests.support.scale_out import running_scale_out
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

MAX_RUNTIME_SECONDS = 120  # the instance's longest run here; an hour in docs/dagster-workers.yaml
POLL_SECONDS = 30  # run_monitoring.poll_interval_seconds in docs/dagster-workers.yaml
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
            tmp_path,
            settings,
            workers=2,
            warehouse_slots=2,
            postgres=postgres,
            max_runtime_seconds=MAX_RUNTIME_SECONDS,
        ) as scale_out:
            yield Deployment(scale_out, tmp_path / "landing", warehouse_location(settings))


def test_a_lost_worker_host_fails_the_run_in_bounded_time_and_the_retry_lands_once(deployment):
    scale_out = deployment.scale_out
    path = deployment.land(LOST_DAY, DAY_ROWS)
    run, start = wait_for_step_start(deployment, path.name, "observations")
    host = scale_out.worker_processes()[start.dagster_event.pid]
    # The whole worker at once, main process and pool: nothing is left to report the step.
    os.killpg(scale_out.processes.running.pop(host).pid, signal.SIGKILL)
    scale_out.workdirs.pop(host)

    bound = MAX_RUNTIME_SECONDS + POLL_SECONDS
    retry = scale_out.processes.wait_for(
        f"the end of {path.name}'s run and of its retry",
        lambda: finished(deployment, path.name, retries=1),
        bound + RUN_SECONDS,
    )
    lost = scale_out.instance.get_run_record_by_id(run.run_id)
    assert lost.dagster_run.status == dg.DagsterRunStatus.FAILURE
    # Ended by the monitoring daemon's runtime limit: within the limit and one poll, plus the
    # seconds the daemon takes to mark it.
    print(f"the lost host's run ended {lost.end_time - lost.start_time:.0f} s after it started")
    assert MAX_RUNTIME_SECONDS <= lost.end_time - lost.start_time <= bound + POLL_SECONDS
    succeeded = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS)
    assert "observations" not in {e.step_key for e in succeeded}, "the step ended before the kill"

    assert retry.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    assert retry.tags["dagster/parent_run_id"] == run.run_id
    # On the worker that is left.
    for entry in step_events(scale_out.instance, retry.run_id, dg.DagsterEventType.STEP_START):
        assert entry.dagster_event.pid in scale_out.worker_processes()
    assert_landed_once(deployment, LOST_DAY, path)
