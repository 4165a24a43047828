"""The docker-compose deployment's Dagster side, run natively against a real Postgres.

Postgres (binaries from the `pgserver` wheel) stands in for the `postgres` service. The code
server, webserver and daemon run the commands docker-compose.yml gives them, with the
repository's own dagster.yaml and workspace.yaml, the credentials of .env.example and the
compose environment, its container paths mapped under a temporary folder. A file dropped in
the landing folder must become a sensor-launched run that goes through the queue, succeeds and
leaves its rows in DuckDB, with every record of it in Postgres.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import psycopg2
import pytest
import yaml

from continual_ml.config import default_config
from continual_ml.defs.data.landing_sensors import landing_dir
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml_tests.support.postgres_server import running_postgres
from continual_ml_tests.support.processes import Processes, free_port, serving

ROOT = Path(__file__).parents[2]
VENV_BIN = Path(sys.executable).parent
# Where the compose services keep their state, and where this test puts it instead.
CONTAINER_ROOTS = ("/opt/dagster/home", "/data")
STARTUP_SECONDS = 60
RUN_SECONDS = 150
ROWS = 40
WATCHED_DAEMONS = {"SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING", "EVENT_LOG_CONSUMER"}
FILE_TAG = "continual_ml/file"
IN_PROGRESS = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def env_template() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def native_path(value: str, state: Path) -> str:
    for container_root in CONTAINER_ROOTS:
        if value == container_root or value.startswith(container_root + "/"):
            return str(state / value.lstrip("/"))
    return value


def native_command(service: dict, **flags: str) -> list[str]:
    """The service's command from the venv, with the flags given (e.g. `h="127.0.0.1"`)."""
    argv = service["command"].split()
    for flag, value in flags.items():
        argv[argv.index(f"-{flag}") + 1] = value
    return [str(VENV_BIN / argv[0]), *argv[1:]]


@dataclass
class Deployment:
    instance: dg.DagsterInstance
    landed_files: list[Path]
    runs: list[dg.DagsterRun]  # the run of each landed file, in the same order
    webserver_url: str
    warehouse: Path
    postgres_url: str


def native_environment(daemon: dict, state: Path, ports: dict[str, int]) -> dict[str, str]:
    """The Dagster services' compose environment and .env.example, pointed at this machine."""
    template = env_template()
    env = {**template, **daemon["environment"]}
    # Compose fills `${VAR:-default}` from `.env`, else with the default.
    env = {
        key: re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: template.get(m[1]) or m[2], str(value))
        for key, value in env.items()
    }
    env = {key: native_path(value, state) for key, value in env.items()}
    env.update(
        DAGSTER_POSTGRES_HOST="127.0.0.1",
        DAGSTER_POSTGRES_PORT=str(ports["postgres"]),
        DAGSTER_CODE_SERVER_HOST="127.0.0.1",
        DAGSTER_CODE_SERVER_PORT=str(ports["code-server"]),
        # The mlflow service is not started: a local store under the state folder instead.
        MLFLOW_TRACKING_URI=f"sqlite:///{state / 'mlflow.db'}",
    )
    return env


def mount_volumes(daemon: dict, state: Path) -> Path:
    """Create the named volumes' folders, put dagster.yaml in DAGSTER_HOME; returns workspace."""
    files = {}  # container path -> repository file, for the `./file:/container/path` mounts
    for volume in daemon["volumes"]:
        # `${VAR:-./file}:target`: the file `.env` may name instead; its default here.
        source, target = re.sub(r"^\$\{\w+:-([^}]+)\}", r"\1", volume).split(":")[:2]
        if source.startswith("./") and (ROOT / source).is_file():
            files[target] = ROOT / source
        else:
            # A named volume, or a bind-mounted folder (./landing): a fresh folder per run.
            Path(native_path(target, state)).mkdir(parents=True, exist_ok=True)
    dagster_home = daemon["environment"]["DAGSTER_HOME"]
    shutil.copy(files[f"{dagster_home}/dagster.yaml"], native_path(dagster_home, state))
    argv = daemon["command"].split()
    return files[argv[argv.index("-w") + 1]]


def land_days(n_days: int) -> list[Path]:
    """One small valid observations file per day, in the landing folder the sensor watches.

    Every other day: consecutive days landed together would share one run."""
    config = default_config()
    files = []
    for day in range(n_days):
        path = landing_dir() / f"day{day}.parquet"
        generate_batch(config, partition_date(config, 2 * day)).head(ROWS).to_parquet(path)
        files.append(path)
    return files


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def finished_runs(instance: dg.DagsterInstance, files: list[Path]) -> list[dg.DagsterRun] | None:
    runs = []
    for path in files:
        found = instance.get_runs(dg.RunsFilter(tags={FILE_TAG: path.name}))
        if not found or not found[0].is_finished:
            return None
        runs.append(found[0])
    return runs


def start_services(processes: Processes, compose: dict, ports: dict, workspace: Path) -> str:
    """Code server, then (once it is healthy, as compose waits) webserver and daemon."""
    code_server = native_command(compose["code-server"], h="127.0.0.1", p=str(ports["code-server"]))
    processes.start("code-server", code_server)
    processes.wait_for(
        "code server healthy", lambda: serving(ports["code-server"]), STARTUP_SECONDS
    )
    webserver = native_command(
        compose["webserver"], h="127.0.0.1", p=str(ports["webserver"]), w=str(workspace)
    )
    processes.start("webserver", webserver)
    processes.start("daemon", native_command(compose["daemon"], w=str(workspace)))
    webserver_url = f"http://127.0.0.1:{ports['webserver']}"
    server_info = f"{webserver_url}/server_info"
    processes.wait_for("webserver answers", lambda: answers(server_info), STARTUP_SECONDS)
    return webserver_url


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    """Postgres and the Dagster services up, and the runs of the landed files finished."""
    state = tmp_path_factory.mktemp("production")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    ports = {name: free_port() for name in ("postgres", "code-server", "webserver")}
    env = native_environment(compose["daemon"], state, ports)
    workspace = mount_volumes(compose["daemon"], state)
    processes = Processes(logs=state / "logs", cwd=state)
    processes.logs.mkdir()
    with (
        pytest.MonkeyPatch.context() as patch,
        running_postgres(
            ports["postgres"],
            processes.logs / "postgres.log",
            user=env["DAGSTER_POSTGRES_USER"],
            password=env["DAGSTER_POSTGRES_PASSWORD"],
        ) as postgres,
    ):
        postgres.create_database(env["DAGSTER_POSTGRES_DB"])
        for name in [n for n in os.environ if n.startswith(("CONTINUAL_ML_", "DAGSTER_"))]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        # Landed before the daemon starts: the sensor's first tick requests both runs at once.
        landed_files = land_days(2)
        try:
            webserver_url = start_services(processes, compose, ports, workspace)
            with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                runs = processes.wait_for(
                    "finished runs for the landed files",
                    lambda: finished_runs(instance, landed_files),
                    RUN_SECONDS,
                )
                # No new runs from here on, and none still writing DuckDB when the tests read it.
                processes.stop("daemon")
                processes.wait_for(
                    "runs in progress finished",
                    lambda: not instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS)),
                    RUN_SECONDS,
                )
                yield Deployment(
                    instance=instance,
                    landed_files=landed_files,
                    runs=runs,
                    webserver_url=webserver_url,
                    warehouse=Path(env["CONTINUAL_ML_WAREHOUSE"]),
                    postgres_url=postgres.url(env["DAGSTER_POSTGRES_DB"]),
                )
        finally:
            processes.stop()


def test_the_instance_keeps_its_state_in_postgres(deployment):
    instance = deployment.instance
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    with psycopg2.connect(deployment.postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT run_id, status FROM runs")
        statuses = dict(cursor.fetchall())
    assert {run.run_id: statuses.get(run.run_id) for run in deployment.runs} == {
        run.run_id: "SUCCESS" for run in deployment.runs
    }


def test_the_daemon_runs_queue_sensors_monitoring_and_retries(deployment):
    instance = deployment.instance
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert WATCHED_DAEMONS <= set(instance.get_required_daemon_types())
    assert WATCHED_DAEMONS <= set(instance.get_daemon_heartbeats())


def test_landed_files_become_sensor_launched_queued_runs_that_succeed(deployment):
    # Queued by the QueuedRunCoordinator, then launched (STARTING) by the daemon's dequeuer.
    lifecycle = [
        dg.DagsterEventType.RUN_ENQUEUED,
        dg.DagsterEventType.RUN_STARTING,
        dg.DagsterEventType.RUN_START,
        dg.DagsterEventType.RUN_SUCCESS,
    ]
    for run in deployment.runs:
        assert run.status == dg.DagsterRunStatus.SUCCESS, run
        assert run.tags["dagster/sensor_name"] == "landing_folder_sensor"
        assert run.tags["dagster/run_key"]
        records = deployment.instance.get_records_for_run(run.run_id).records
        events = [r.event_log_entry.dagster_event_type for r in records]
        assert [event for event in events if event in lifecycle] == lifecycle


def test_one_step_at_a_time_opens_the_warehouse(deployment):
    """dagster.yaml runs two runs at once, but its pool lets one step at a time open DuckDB."""
    spans = []
    for run in deployment.runs:
        started: dict[str, float] = {}
        for entry in deployment.instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif event.event_type in (
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            ):
                spans.append((started[entry.step_key], entry.timestamp))
    assert len(spans) >= len(deployment.runs)
    spans.sort()
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert end <= next_start, spans
    # Both runs were requested in one tick: the second waited in the queue for the first.
    ours = [deployment.instance.get_run_record_by_id(run.run_id) for run in deployment.runs]
    first_end = min(record.end_time for record in ours)
    assert all(record.create_timestamp.timestamp() < first_end for record in ours)


def test_the_runs_wrote_the_rows_to_the_warehouse(deployment):
    with duckdb.connect(str(deployment.warehouse), read_only=True) as conn:
        n_rows = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
        ingested = conn.execute("SELECT source, rows_good FROM ingested_files").fetchall()
    assert n_rows == ROWS * len(deployment.landed_files)
    assert sorted(ingested) == [(path.name, ROWS) for path in deployment.landed_files]


WEBSERVER_QUERY = """
{
  workspaceOrError {
    ... on Workspace { locationEntries { name locationOrLoadError { __typename } } }
  }
  runsOrError { ... on Runs { results { runId status tags { key value } } } }
}
"""


def test_the_webserver_loads_the_code_server_and_reads_the_runs_from_postgres(deployment):
    response = httpx.post(
        f"{deployment.webserver_url}/graphql", json={"query": WEBSERVER_QUERY}, timeout=30
    )
    data = response.json()["data"]
    [location] = data["workspaceOrError"]["locationEntries"]
    assert location["name"] == "continual_ml"
    assert location["locationOrLoadError"]["__typename"] == "RepositoryLocation"
    landed = {
        run["runId"]: run["status"]
        for run in data["runsOrError"]["results"]
        if any(tag["key"] == FILE_TAG for tag in run["tags"])
    }
    assert landed == {run.run_id: "SUCCESS" for run in deployment.runs}
