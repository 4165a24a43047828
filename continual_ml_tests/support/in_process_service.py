"""The service's ASGI app in this process, built by BentoML's public `Service.to_asgi()`.

For the HTTP contract (routes, the guard, refusals, answers), with no `bentoml serve`: the app is
the one a worker builds, with the same middlewares and lifespan (the champion loaded and
followed, the logs closed at the end), and the settings `bento/service.py` reads from the
environment when it is imported. Only the socket and the process around it are missing: tests
where a process must die, or bytes on a real socket matter, start a `ServiceProcess`.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import prometheus_client
import prometheus_client.values

with warnings.catch_warnings():
    # Starlette asks for the `httpx2` fork; the client works as well on httpx, which we have.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient  # noqa: E402

from continual_ml.config import default_config  # noqa: E402
from continual_ml.training.pipeline import serialize_model  # noqa: E402
from continual_ml_tests.support.environment import variables_set  # noqa: E402
from continual_ml_tests.support.exported_models import export_champion  # noqa: E402
from continual_ml_tests.support.service_support import export, trained  # noqa: E402

SERVICE_MODULE = "bento.service"
_RUNNING = False  # whether an app built here is still in use
# BentoML's `/metrics` reads Prometheus' multiprocess files, as each worker of `bentoml serve`
# writes them: one folder for this test process, used only while an app runs.
_METRICS_DIR = tempfile.mkdtemp(prefix="continual-ml-metrics-")


@contextmanager
def _multiprocess_metrics() -> Iterator[None]:
    """Values made meanwhile go to files `/metrics` reads; before and after, to memory, so other
    tests' registries in this process do not share them."""
    values, before = prometheus_client.values, prometheus_client.values.ValueClass
    values.ValueClass = values.get_value_class()  # reads PROMETHEUS_MULTIPROC_DIR, now set
    try:
        yield
    finally:
        values.ValueClass = before


@contextmanager
def _metrics_unregistered_after() -> Iterator[None]:
    """Unregister the Prometheus metrics an app registers, so the next app can register its own:
    a worker builds one app in its life, a test process several."""
    registry = prometheus_client.REGISTRY
    added, register = [], registry.register

    def recorded(collector) -> None:
        register(collector)
        added.append(collector)

    registry.register = recorded
    try:
        yield
    finally:
        del registry.register  # the class's own method again
        for collector in added:
            registry.unregister(collector)


@contextmanager
def service_app(
    bentoml_home: Path, prediction_log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator:
    """The service's ASGI app as configured by this environment, not started: whoever serves it
    runs its lifespan (the champion loaded and followed, the logs closed at the end)."""
    env = {
        "BENTOML_HOME": str(bentoml_home),
        "CONTINUAL_ML_PREDICTION_LOG_DIR": str(prediction_log_dir),
        "BENTOML_DO_NOT_TRACK": "true",
        "CONTINUAL_ML_MODEL_POLL_SECONDS": "0.5",
        # logs close after a second, not ten: the tests that read them back wait that long
        "CONTINUAL_ML_PREDICTION_LOG_SECONDS": "1",
        "PROMETHEUS_MULTIPROC_DIR": _METRICS_DIR,
        **(extra_env or {}),
    }
    global _RUNNING
    if _RUNNING:
        # Its metrics would clash with the running app's, as two apps in one worker would.
        raise RuntimeError("one service app at a time in a process: stop the other first")
    _RUNNING = True
    try:
        with variables_set(env), _multiprocess_metrics(), _metrics_unregistered_after():
            # Imported afresh: the module reads its settings from the environment as it loads.
            module = sys.modules.get(SERVICE_MODULE)
            module = importlib.reload(module) if module else importlib.import_module(SERVICE_MODULE)
            yield module.ChampionClassifier.to_asgi()
    finally:
        _RUNNING = False


@contextmanager
def in_process_service(
    bentoml_home: Path, prediction_log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[TestClient]:
    """A client of the service's app, started (lifespan run) and stopped around the block.

    Answers are what a socket would carry (a server error is a 500, not raised here). The
    client names the store and log folder, as a `ServiceProcess` does.
    """
    with service_app(bentoml_home, prediction_log_dir, extra_env) as app:
        with TestClient(app, raise_server_exceptions=False) as client:
            client.bentoml_home, client.prediction_log_dir = bentoml_home, prediction_log_dir
            yield client


@contextmanager
def service_in_process(root: Path, models=None, **env: str) -> Iterator[TestClient]:
    """A client of the app in process, serving `models` (default `trained(0)`, the demo's) as v1
    from a BentoML store under `root`, its prediction logs beside it; `env` adds variables.
    `support.service_support.running_service` is the same on a real socket."""
    export(root / "bentoml", 1, models or trained(0))
    with in_process_service(root / "bentoml", root / "logs", env) as client:
        yield client


@contextmanager
def serving_user_champion(
    bentoml_home: Path, prediction_log_dir: Path, config, model, details: dict | None = None
) -> Iterator[TestClient]:
    """`model` exported as champion v1 of the user's `config` (in place with
    `support.user_data.use_config`), with `details` in its manifest; a client of it served."""
    artifact, sha256 = serialize_model(model)
    export_champion(bentoml_home, config, 1, artifact, sha256, details=details)
    # The service reads its config when imported: read afresh, and forgotten afterwards (other
    # tests serve the demo's).
    default_config.cache_clear()
    try:
        with in_process_service(bentoml_home, prediction_log_dir) as client:
            yield client
    finally:
        default_config.cache_clear()


def post(service, path, body, **kwargs):
    return service.post(path, json=body, **kwargs)


def served(client) -> dict:
    """What the service says it serves (`/model`)."""
    return client.get("/model").json()


def wait_for_version(client, version: int, timeout_seconds: float = 30.0) -> float:
    """Seconds until the service answers with `version`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_seconds:
        if served(client)["model_version"] == version:
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"service still not serving v{version} after {timeout_seconds}s")
