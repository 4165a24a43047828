"""Starting and stopping the BentoML service as a real server process on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from continual_ml.app.supervision import process_table
from continual_ml.app.supervision.child_processes import with_parent
from continual_ml.app.supervision.process_table import processes_with_env

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICE = "bento.service:ChampionClassifier"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def metrics_in_memory(bentoml_home: Path, name: str) -> Path:
    """Point BentoML's Prometheus folder at memory (`/dev/shm`), emptied, as BentoML would.

    BentoML keeps Prometheus' multiprocess files, which its workers memory-map, in
    `BENTOML_HOME/prometheus_multiproc_dir`, on the home's disk: once that disk was full, a
    worker touching a new page of them died at once without a trace (SIGBUS; measured: the
    first request on a full disk closed the connection, the next ones timed out), instead of
    answering 503. The folder becomes a link to one in memory, which no full disk reaches.
    """
    memory = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
    target = memory / f"continual-ml-metrics-{name}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    link = bentoml_home / "prometheus_multiproc_dir"
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)  # its files are an earlier server's, which BentoML would remove
    bentoml_home.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)
    return target


class ServiceProcess:
    """`bentoml serve` in a child process; a context manager that always stops it."""

    def __init__(
        self,
        bentoml_home: Path,
        log_path: Path,
        prediction_log_dir: Path,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.bentoml_home = bentoml_home
        self.prediction_log_dir = prediction_log_dir
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        # In the environment of the server and every worker it starts, so `stop` finds them all.
        self.mark = f"CONTINUAL_ML_SERVICE_ID={uuid.uuid4().hex}"

    def start(self, timeout_seconds: float = 90.0, wait_ready: bool = True) -> ServiceProcess:
        env = {
            **os.environ,
            "BENTOML_HOME": str(self.bentoml_home),
            "CONTINUAL_ML_PREDICTION_LOG_DIR": str(self.prediction_log_dir),
            "BENTOML_DO_NOT_TRACK": "true",
            "CONTINUAL_ML_MODEL_POLL_SECONDS": "0.5",
            **self.extra_env,
        }
        name, value = self.mark.split("=", 1)
        env[name] = value
        self._metrics = metrics_in_memory(self.bentoml_home, value)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        command = [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            SERVICE,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--working-dir",
            str(REPO_ROOT),
        ]
        # A session of its own, so stopping it also stops the workers it spawns; and it ends with
        # this process even when that is killed outright.
        self.process = subprocess.Popen(
            with_parent(command),
            env=env,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        if wait_ready:
            self.wait_ready(timeout_seconds)
        return self

    def wait_ready(self, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"service exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"service not ready after {timeout_seconds}s; see {self.log_path}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stopped(self) -> bool:
        """The arbiter is stopped: its workers may still answer, but none is restarted."""
        return self.alive() and process_table.stopped(self.process.pid)

    def served_version(self) -> int | None:
        return self.describe()["model_version"]

    def describe(self) -> dict:
        return httpx.get(f"{self.url}/model", timeout=5).json()

    def wait_for_version(self, version: int, timeout_seconds: float = 30.0) -> float:
        """Seconds until the service answers with `version`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_seconds:
            if self.served_version() == version:
                return time.monotonic() - started
            time.sleep(0.2)
        raise TimeoutError(f"service still not serving v{version} after {timeout_seconds}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            os.killpg(self.process.pid, signal.SIGCONT)  # a stopped arbiter acts on it too
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process:
            # BentoML runs each worker in a session of its own; the workers of an arbiter that
            # was killed outright live on and hold the port. They carry this server's mark.
            for pid in processes_with_env(self.mark):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            self._log.close()
            shutil.rmtree(self._metrics, ignore_errors=True)  # memory, not disk

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
