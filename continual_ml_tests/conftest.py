"""Fixtures: a temporary continual-ml home (real DuckDB file, MLflow and BentoML stores), and
the unit/integration marking of every collected test."""

from __future__ import annotations

import os

# One OpenMP thread per process, as the service runs: the models here are small, and on a
# 2-core machine under load, gradient boosting's thread team spins (measured: 292 s for the
# training tests at load average 8 against 80 s with one thread). Set before scikit-learn loads.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil  # noqa: E402
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from continual_ml.app.local_home import prepare
from continual_ml.config import Paths, default_config
from continual_ml.warehouse.schema import apply_schema

TESTS = Path(__file__).parent
# The folder says what a test is: `unit/` starts no process (the fast default, `make test-unit`),
# `integration/` runs real servers, processes and Dagster system flows, `bench/` holds the slow
# benchmarks (also integration, so `-m "not integration"` leaves them out too).
MARKERS_BY_FOLDER = {
    "unit": ("unit",),
    "integration": ("integration",),
    "bench": ("integration", "slow"),
}


def folder_of(item: pytest.Item) -> str:
    return Path(item.path).relative_to(TESTS).parts[0]


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in MARKERS_BY_FOLDER.get(folder_of(item), ()):
            item.add_marker(name)


class ProcessStarted(AssertionError):
    """A unit test started a process: it belongs in integration/."""


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request, monkeypatch) -> None:
    """Enforce the folder's promise: a test under unit/ that starts a process fails."""
    if folder_of(request.node) != "unit":
        return

    def refuse(self, *args, **kwargs):
        raise ProcessStarted(f"{request.node.nodeid} started a process: move it to integration/")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)


HOME_ENV = (
    "CONTINUAL_ML_HOME",
    "DAGSTER_HOME",
    "BENTOML_HOME",
    "MLFLOW_TRACKING_URI",
    "CONTINUAL_ML_WAREHOUSE",
    "CONTINUAL_ML_SLACK_WEBHOOK_URL",
    "CONTINUAL_ML_DISCORD_WEBHOOK_URL",
)


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory) -> Path:
    """An MLflow store whose tables exist, made once: each home starts from a copy of it rather
    than migrating a new database (seconds a test). `prepare` still creates the experiment."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def home(tmp_path, monkeypatch, empty_mlflow_db) -> Paths:
    """A fresh embedded default under tmp_path; the environment is restored afterwards."""
    for name in HOME_ENV:
        monkeypatch.delenv(name, raising=False)
    # delenv records each variable, so what prepare() exports is undone on teardown
    monkeypatch.setenv("CONTINUAL_ML_HOME", str(tmp_path / "home"))
    # Tests write whole files, then tick at once: no settle time, unless a test sets its own.
    monkeypatch.setenv("CONTINUAL_ML_LANDING_SETTLE_SECONDS", "0")
    paths = Paths.from_env()
    paths.home.mkdir(parents=True)
    shutil.copyfile(empty_mlflow_db, paths.home / "mlflow.db")
    return prepare(paths)


@pytest.fixture
def config():
    return default_config()


@pytest.fixture
def conn(tmp_path, config):
    """A real DuckDB file with the warehouse's tables."""

    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    apply_schema(connection, config)
    yield connection
    connection.close()


@pytest.fixture
def landing(home, monkeypatch):
    """The landing folder the landing sensor watches, under the home."""
    folder = home.home / "landing"
    folder.mkdir()
    monkeypatch.setenv("CONTINUAL_ML_LANDING_DIR", str(folder))
    return folder


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@dataclass
class Receiver:
    """A local HTTP server standing in for Slack and Discord webhooks."""

    url: str
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 200
    delay_seconds: float = 0.0
    # Scripted replies (status, headers, body), consumed in order before falling back to `status`.
    responses: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each request


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.arrivals.append(time.monotonic())
            receiver.requests.append((self.path, body))
            if receiver.delay_seconds:
                release.wait(receiver.delay_seconds)
            status, headers, reply = (
                receiver.responses.pop(0) if receiver.responses else (receiver.status, {}, b"ok")
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    release.set()
    server.shutdown()
    server.server_close()
