"""The scale-out profile on one machine, for the tests and the backfill benchmark.

Postgres (Dagster's storage, the Celery broker and result backend), a code server, the daemon and
`continual-ml worker` processes all reading docs/dagster-workers.yaml (the daemon sends each run
to the broker, a worker executes it whole), each worker in a folder of its own, each process
group stopped on the way out.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psutil
import yaml

from continual_ml.defs.partitions import WAREHOUSE_POOL
from continual_ml_tests.support.environment import variables_set
from continual_ml_tests.support.postgres_server import PostgresServer, running_postgres
from continual_ml_tests.support.processes import Processes, free_port, serving

ROOT = Path(__file__).parents[2]
VENV_BIN = Path(sys.executable).parent
WORKERS_YAML = ROOT / "docs" / "dagster-workers.yaml"
STARTUP_SECONDS = 120
# What the test's own environment must not pass on to the processes it starts.
OURS = ("CONTINUAL_ML_", "DAGSTER_", "MLFLOW_", "BENTOML_")


@dataclass
class ScaleOut:
    instance: dg.DagsterInstance
    processes: Processes
    workdirs: dict[str, Path]  # worker name -> its own folder
    postgres: PostgresServer
    worker_commands: dict[str, tuple[list[str], dict[str, str]]]  # name -> argv, environment

    def start_worker(self, name: str) -> None:
        """Start the named worker (again), as the deployment first started it."""
        argv, env = self.worker_commands[name]
        self.processes.start(name, argv, env)
        self.workdirs[name] = Path(argv[argv.index("--workdir") + 1])

    def worker_processes(self) -> dict[int, str]:
        """Every live process of each worker (main and pool), pid -> worker name."""
        found = {}
        for name in self.workdirs:
            main = psutil.Process(self.processes.running[name].pid)
            for process in [main, *main.children(recursive=True)]:
                found[process.pid] = name
        return found

    def workers_ready(self) -> bool:
        return all(
            "ready." in (self.processes.logs / f"{name}.log").read_text(errors="replace")
            for name in self.workdirs
        )


def celery_environment(postgres: PostgresServer, database: str) -> dict[str, str]:
    credentials = f"{postgres.user}:{postgres.password}@127.0.0.1:{postgres.port}/{database}"
    return {
        "CONTINUAL_ML_CELERY_BROKER_URL": f"sqla+postgresql+psycopg2://{credentials}",
        "CONTINUAL_ML_CELERY_BACKEND_URL": f"db+postgresql+psycopg2://{credentials}",
        "DAGSTER_POSTGRES_USER": postgres.user,
        "DAGSTER_POSTGRES_PASSWORD": postgres.password,
        "DAGSTER_POSTGRES_HOST": "127.0.0.1",
        "DAGSTER_POSTGRES_PORT": str(postgres.port),
        "DAGSTER_POSTGRES_DB": database,
    }


def instance_yaml(dagster_home: Path, max_concurrent_runs: int | None) -> None:
    """docs/dagster-workers.yaml, with its run limit set if given (the only value a run of this
    changes)."""
    config = yaml.safe_load(WORKERS_YAML.read_text())
    if max_concurrent_runs is not None:
        config["concurrency"]["runs"]["max_concurrent_runs"] = max_concurrent_runs
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))


@contextmanager
def running_scale_out(
    state: Path,
    settings: dict[str, str],
    workers: int = 2,
    max_concurrent_runs: int | None = None,
    warehouse_slots: int = 1,
    postgres: PostgresServer | None = None,
    database: str = "dagster",
) -> Iterator[ScaleOut]:
    """Everything up (workers ready, code server serving, daemon started) until the block ends.

    `max_concurrent_runs`: the instance file's (the run slots of its two workers) unless given.

    `settings`: the pipeline's variables (warehouse, MLflow, config...), the same for every
    process; each worker's CONTINUAL_ML_HOME is its own folder, its DAGSTER_HOME the instance's
    (the run task loads the instance from it). A Postgres server is started
    unless one is given (a new `database` in it then)."""
    state.mkdir(parents=True, exist_ok=True)
    processes = Processes(logs=state / "logs", cwd=state)
    processes.logs.mkdir(exist_ok=True)
    with (
        running_postgres(free_port(), processes.logs / "postgres.log")
        if postgres is None
        else (_given(postgres)) as server
    ):
        server.create_database(database)
        base = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
        env = {**base, **settings, **celery_environment(server, database)}
        port = free_port()
        dagster_side = {
            **env,
            "DAGSTER_HOME": str(state / "dagster_home"),
            "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
            "DAGSTER_CODE_SERVER_PORT": str(port),
        }
        dagster_side.setdefault("CONTINUAL_ML_HOME", str(state / "home"))
        instance_yaml(state / "dagster_home", max_concurrent_runs)
        workdirs = {f"worker-{i}": state / f"worker-{i}" for i in range(workers)}
        # This process reads the instance and workspace files too (their `env:` values).
        shared = ("DAGSTER_POSTGRES_", "DAGSTER_CODE_SERVER_", "CONTINUAL_ML_CELERY_")
        selected = {k: v for k, v in dagster_side.items() if k.startswith(shared)}
        with variables_set(selected):
            worker_commands = {
                name: (
                    [str(VENV_BIN / "continual-ml"), "worker", "--name", name]
                    + ["--workdir", str(workdir)],
                    {
                        **env,
                        "CONTINUAL_ML_HOME": str(workdir / "home"),
                        "DAGSTER_HOME": dagster_side["DAGSTER_HOME"],
                    },
                )
                for name, workdir in workdirs.items()
            }
            try:
                for name, (argv, worker_env) in worker_commands.items():
                    processes.start(name, argv, worker_env)
                grpc = ["api", "grpc", "-h", "127.0.0.1", "-p", str(port)]
                module = ["-m", "continual_ml.definitions"]
                processes.start(
                    "code-server", [str(VENV_BIN / "dagster"), *grpc, *module], dagster_side
                )
                processes.wait_for("code server healthy", lambda: serving(port), STARTUP_SECONDS)
                workspace = str(ROOT / "workspace.yaml")
                daemon = [str(VENV_BIN / "dagster-daemon"), "run", "-w", workspace]
                processes.start("daemon", daemon, dagster_side)
                with dg.DagsterInstance.from_config(str(state / "dagster_home")) as instance:
                    instance.event_log_storage.set_concurrency_slots(
                        WAREHOUSE_POOL, warehouse_slots
                    )
                    scale_out = ScaleOut(instance, processes, workdirs, server, worker_commands)
                    processes.wait_for("workers ready", scale_out.workers_ready, STARTUP_SECONDS)
                    yield scale_out
            finally:
                processes.stop()


@contextmanager
def _given(postgres: PostgresServer) -> Iterator[PostgresServer]:
    yield postgres
