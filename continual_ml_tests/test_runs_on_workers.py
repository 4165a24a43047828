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
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import psutil
import pytest

from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml_tests.postgres_server import running_postgres
from continual_ml_tests.test_production_profile import Processes, free_port, serving

ROOT = Path(__file__).parents[1]
VENV_BIN = Path(sys.executable).parent
STARTUP_SECONDS = 90
RUN_SECONDS = 240
SMALL_ROWS = 40
FILE_TAG = "continual_ml/file"
WORKERS = ("worker-a", "worker-b")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass
class ScaleOut:
    instance: dg.DagsterInstance
    processes: Processes
    landing: Path
    warehouse: Path
    workdirs: dict[str, Path]

    def worker_processes(self) -> dict[int, str]:
        """Every live process of each worker (its main process and pool), pid -> worker."""
        found = {}
        for name in WORKERS:
            main = psutil.Process(self.processes.running[name].pid)
            for process in [main, *main.children(recursive=True)]:
                found[process.pid] = name
        return found

    def runs_for(self, file_name: str) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(dg.RunsFilter(tags={FILE_TAG: file_name})))

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


def step_events(instance, run_id: str, event_type: dg.DagsterEventType) -> list:
    records = instance.get_records_for_run(run_id, of_type=event_type).records
    return [record.event_log_entry for record in records]


def worker_environment(state: Path, postgres, database: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONTINUAL_ML_", "DAGSTER_", "MLFLOW_", "BENTOML_"))
    }
    credentials = f"{postgres.user}:{postgres.password}@127.0.0.1:{postgres.port}/{database}"
    return {
        **base,
        "CONTINUAL_ML_EXECUTOR": "celery",
        "CONTINUAL_ML_CELERY_BROKER_URL": f"sqla+postgresql+psycopg2://{credentials}",
        "CONTINUAL_ML_CELERY_BACKEND_URL": f"db+postgresql+psycopg2://{credentials}",
        "CONTINUAL_ML_WAREHOUSE": str(state / "warehouse" / "warehouse.duckdb"),
        "CONTINUAL_ML_LANDING_DIR": str(state / "landing"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
        "DAGSTER_POSTGRES_USER": postgres.user,
        "DAGSTER_POSTGRES_PASSWORD": postgres.password,
        "DAGSTER_POSTGRES_HOST": "127.0.0.1",
        "DAGSTER_POSTGRES_PORT": str(postgres.port),
        "DAGSTER_POSTGRES_DB": database,
    }


@pytest.fixture(scope="module")
def scale_out(tmp_path_factory) -> Iterator[ScaleOut]:
    state = tmp_path_factory.mktemp("scale-out")
    for folder in ("warehouse", "landing", "dagster_home", "logs", "home"):
        (state / folder).mkdir()
    shutil.copy(ROOT / "docs" / "dagster-workers.yaml", state / "dagster_home" / "dagster.yaml")
    processes = Processes(logs=state / "logs", cwd=state)
    ports = {"postgres": free_port(), "code-server": free_port()}
    with (
        pytest.MonkeyPatch.context() as patch,
        running_postgres(ports["postgres"], processes.logs / "postgres.log") as postgres,
    ):
        postgres.create_database("dagster")
        env = worker_environment(state, postgres, "dagster")
        dagster_side = {
            **env,
            "CONTINUAL_ML_HOME": str(state / "home"),
            "DAGSTER_HOME": str(state / "dagster_home"),
            "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
            "DAGSTER_CODE_SERVER_PORT": str(ports["code-server"]),
        }
        for name in [n for n in os.environ if n.startswith(("CONTINUAL_ML_", "DAGSTER_"))]:
            patch.delenv(name)
        for name, value in dagster_side.items():
            patch.setenv(name, value)
        workdirs = {name: state / name for name in WORKERS}
        try:
            for name in WORKERS:
                # A worker's home is its own folder: it shares only what the settings name.
                worker_env = {**env, "CONTINUAL_ML_HOME": str(workdirs[name] / "home")}
                argv = [str(VENV_BIN / "continual-ml"), "worker", "--name", name]
                processes.start(name, [*argv, "--workdir", str(workdirs[name])], worker_env)
            processes.start(
                "code-server",
                [
                    str(VENV_BIN / "dagster"),
                    *("api", "grpc", "-h", "127.0.0.1", "-p", str(ports["code-server"])),
                    *("-m", "continual_ml.definitions"),
                ],
                dagster_side,
            )
            processes.wait_for(
                "code server healthy", lambda: serving(ports["code-server"]), STARTUP_SECONDS
            )
            processes.start(
                "daemon",
                [str(VENV_BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
                dagster_side,
            )
            with dg.DagsterInstance.from_config(str(state / "dagster_home")) as instance:
                yield ScaleOut(
                    instance=instance,
                    processes=processes,
                    landing=state / "landing",
                    warehouse=Path(env["CONTINUAL_ML_WAREHOUSE"]),
                    workdirs=workdirs,
                )
        finally:
            processes.stop()


def finished(scale_out: ScaleOut, file_name: str, retries: int = 0) -> dg.DagsterRun | None:
    """The file's newest run once it and `retries` retries of it are finished."""
    runs = scale_out.runs_for(file_name)
    if len(runs) < retries + 1 or not all(run.is_finished for run in runs):
        return None
    return runs[0]


def test_each_step_executes_in_a_worker_process_not_in_the_run(scale_out):
    files = [scale_out.land(day, SMALL_ROWS) for day in (0, 2)]
    for path in files:
        run = scale_out.processes.wait_for(
            f"run of {path.name}", lambda p=path: finished(scale_out, p.name), RUN_SECONDS
        )
        assert run.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    workers = scale_out.worker_processes()
    used = set()
    for path in files:
        [run] = scale_out.runs_for(path.name)
        [run_start] = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.RUN_START)
        starts = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_START)
        assert {entry.step_key for entry in starts} >= {"observations", "current_window"}
        for entry in starts:
            # The event was written by the process that executed the step: a worker's pool
            # process, never the run's own process.
            assert entry.pid != run_start.pid
            assert entry.pid in workers, (entry.step_key, entry.pid, workers)
            used.add(workers[entry.pid])
            cwd = psutil.Process(entry.pid).cwd()
            assert Path(cwd) == scale_out.workdirs[workers[entry.pid]]
    assert used <= set(WORKERS) and used
    with duckdb.connect(str(scale_out.warehouse), read_only=True) as conn:
        counts = dict(conn.execute("SELECT source, rows_good FROM ingested_files").fetchall())
    assert {path.name: counts.get(path.name) for path in files} == {
        path.name: SMALL_ROWS for path in files
    }


def wait_for_step_start(scale_out: ScaleOut, file_name: str, step_key: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scale_out.processes.check_alive()
        for run in scale_out.runs_for(file_name):
            starts = step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_START)
            for entry in starts:
                if entry.step_key == step_key:
                    return run, entry
        time.sleep(0.05)
    pytest.fail(f"{step_key} of {file_name} did not start\n{scale_out.processes.tails()}")


BIG_ROWS = 1_500_000


def test_a_worker_killed_mid_step_fails_the_run_which_runs_again_and_lands_once(scale_out):
    path = scale_out.land(6, BIG_ROWS)
    run, start = wait_for_step_start(scale_out, path.name, "observations", RUN_SECONDS)
    workers = scale_out.worker_processes()
    assert start.pid in workers
    os.kill(start.pid, signal.SIGKILL)
    retry = scale_out.processes.wait_for(
        f"retry of {path.name}", lambda: finished(scale_out, path.name, retries=1), RUN_SECONDS
    )
    killed = scale_out.instance.get_run_by_id(run.run_id)
    assert killed.status == dg.DagsterRunStatus.FAILURE
    killed_steps = {
        e.step_key
        for e in step_events(scale_out.instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS)
    }
    assert "observations" not in killed_steps, "the step ended before the kill"
    assert retry.status == dg.DagsterRunStatus.SUCCESS, scale_out.processes.tails()
    assert retry.tags["dagster/parent_run_id"] == run.run_id
    # Every worker still serves: the killed pool process was replaced.
    scale_out.processes.check_alive()
    with duckdb.connect(str(scale_out.warehouse), read_only=True) as conn:
        day = partition_date(default_config(), 6)
        rows = conn.execute(
            "SELECT count(*) FROM observations WHERE partition_date = ?", [day]
        ).fetchone()[0]
        ledger = conn.execute(
            "SELECT rows_good FROM ingested_files WHERE source = ?", [path.name]
        ).fetchall()
    assert rows == BIG_ROWS
    assert ledger == [(BIG_ROWS,)]
