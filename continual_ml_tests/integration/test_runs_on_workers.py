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
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import psutil
import pytest

from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.settings import Settings
from continual_ml.warehouse.connection import (
    WarehouseLocation,
    location_from_settings,
    warehouse_connection,
)
from continual_ml_tests.support.lake_servers import (
    free_port,
    lake_environment,
    running_object_store,
)
from continual_ml_tests.support.postgres_server import running_postgres
from continual_ml_tests.support.scale_out import ScaleOut, running_scale_out

RUN_SECONDS = 300
DAY_ROWS = 300_000  # a few seconds of ingestion: time to kill it, and for two to overlap
KILLED_DAY = 1
FILE_TAG = "continual_ml/file"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass
class Deployment:
    scale_out: ScaleOut
    landing: Path
    warehouse: WarehouseLocation

    def runs_for(self, file_name: str) -> list[dg.DagsterRun]:
        return list(self.scale_out.instance.get_runs(dg.RunsFilter(tags={FILE_TAG: file_name})))

    def land(self, day_index: int, rows: int) -> Path:
        """A valid observations file for one day, `rows` rows (the demo's batch, repeated)."""
        config = default_config()
        batch = generate_batch(config, partition_date(config, day_index))
        repeats = -(-rows // len(batch))
        frame = pd.concat([batch] * repeats, ignore_index=True).head(rows)
        # Row ids unique, as the warehouse wants them.
        frame["row_id"] = [f"{day_index}-{i:07d}" for i in range(len(frame))]
        staged = self.landing.parent / f"day{day_index}.parquet"
        frame.to_parquet(staged, index=False)
        # Moved in whole: the sensor never sees a half-written file.
        return Path(shutil.move(staged, self.landing / staged.name))


def assert_landed_once(deployment: Deployment, day_index: int, path: Path) -> None:
    """The day holds the file's rows once, and the ledger one ingestion of it."""
    day = partition_date(default_config(), day_index)
    with warehouse_connection(deployment.warehouse, read_only=True) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM observations WHERE partition_date = ?", [day]
        ).fetchone()[0]
        ledger = conn.execute(
            "SELECT rows_good FROM ingested_files WHERE source = ?", [path.name]
        ).fetchall()
    assert rows == DAY_ROWS
    assert ledger == [(DAY_ROWS,)]


def step_events(instance, run_id: str, event_type: dg.DagsterEventType) -> list:
    records = instance.get_records_for_run(run_id, of_type=event_type).records
    return [record.event_log_entry for record in records]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    """The profile on its warehouse: DuckLake, catalog in the Postgres that holds Dagster's
    storage and the broker, data on an S3 store on loopback; two slots for per-day steps."""
    state = tmp_path_factory.mktemp("scale-out")
    (state / "landing").mkdir()
    with (
        running_postgres(free_port(), state / "postgres.log") as postgres,
        running_object_store() as store,
    ):
        settings = {
            **lake_environment(postgres, store=store),
            "CONTINUAL_ML_LANDING_DIR": str(state / "landing"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
        }
        with running_scale_out(
            state, settings, workers=2, warehouse_slots=2, postgres=postgres
        ) as scale_out:
            yield Deployment(scale_out, state / "landing", warehouse_location(settings))


def warehouse_location(settings: dict[str, str]):
    return location_from_settings(Settings.from_env(settings), Path("unused.duckdb"))


def finished(deployment: Deployment, file_name: str, retries: int = 0) -> dg.DagsterRun | None:
    """The file's newest run once it and `retries` retries of it are finished."""
    runs = deployment.runs_for(file_name)
    if len(runs) < retries + 1 or not all(run.is_finished for run in runs):
        return None
    return runs[0]


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


def wait_for_step_start(deployment: Deployment, file_name: str, step_key: str):
    instance, processes = deployment.scale_out.instance, deployment.scale_out.processes
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        processes.check_alive()
        for run in deployment.runs_for(file_name):
            for entry in step_events(instance, run.run_id, dg.DagsterEventType.STEP_START):
                if entry.step_key == step_key:
                    return run, entry
        time.sleep(0.05)
    pytest.fail(f"{step_key} of {file_name} did not start\n{processes.tails()}")


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
