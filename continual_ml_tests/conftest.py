"""Fixtures: a temporary continual-ml home (real DuckDB file, MLflow and BentoML stores), and
the unit/integration marking of every collected test."""

from __future__ import annotations

import os

# One OpenMP thread per process, as the service runs: the models here are small, and on a
# 2-core machine under load, gradient boosting's thread team spins (measured: 292 s for the
# training tests at load average 8 against 80 s with one thread). Set before scikit-learn loads.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import inspect  # noqa: E402
import re
import shutil
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
# What makes a test `integration`: starting a real process (the service by `bentoml serve`,
# Postgres, `up`, `make`, the CLI in a child interpreter), or running Dagster jobs, the system
# flow of assets, checks, MLflow, DuckDB and the model store (5-15 s a test, minutes together),
# directly or through `up`'s bootstrap of the first champion.
# A test is `integration` when its own code, a fixture it uses, or a helper from the tests they
# call names one of these; every other test is `unit`.
SYSTEM_FLOW = re.compile(
    r"\b(subprocess|Popen|ServiceProcess|running_postgres"
    r"|materialize|execute_in_process|execute_job)\b|\bbootstrap\(|\"bootstrap\""
)


def _test_code(obj) -> bool:
    try:
        return Path(inspect.getsourcefile(obj)).resolve().is_relative_to(TESTS)
    except TypeError:
        return False


def _runs_a_system_flow(obj, seen: set[int]) -> bool:
    """Whether `obj`'s source, or that of a test helper it names, matches SYSTEM_FLOW."""
    obj = inspect.unwrap(obj)
    if id(obj) in seen or not _test_code(obj):
        return False
    seen.add(id(obj))
    source = inspect.getsource(obj)
    if SYSTEM_FLOW.search(source):
        return True
    names = vars(inspect.getmodule(obj))
    return any(
        _runs_a_system_flow(names[word], seen)
        for word in set(re.findall(r"[A-Za-z_]\w*", source))
        if inspect.isfunction(names.get(word)) or inspect.isclass(names.get(word))
    )


def _integration(item: pytest.Item) -> bool:
    # The benchmarks run whole system flows for minutes; so `-m "not integration"`, which
    # replaces the default `-m 'not slow'`, still leaves them out.
    if item.get_closest_marker("integration") or item.get_closest_marker("slow"):
        return True
    if not isinstance(item, pytest.Function):
        return False
    seen: set[int] = set()
    fixtures = [definitions[-1].func for definitions in item._fixtureinfo.name2fixturedefs.values()]
    return any(_runs_a_system_flow(code, seen) for code in [item.function, *fixtures])


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration if _integration(item) else pytest.mark.unit)


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
