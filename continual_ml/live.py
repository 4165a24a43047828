"""The live system on the embedded default: Dagster code server, webserver and daemon, the MLflow
UI and the BentoML service, each a child process that `LiveSystem.stop` always ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from continual_ml.child_processes import with_parent
from continual_ml.config import Paths
from continual_ml.service_process import REPO_ROOT, ServiceProcess, free_port

WORKSPACE = REPO_ROOT / "workspace.yaml"
STATE_FILE = "live.json"
BIN = Path(sys.executable).parent


@dataclass
class Ports:
    webserver: int = 3000
    mlflow: int = 5000
    service: int = 3001
    code_server: int = field(default_factory=free_port)

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port())


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Child:
    """One command in a session of its own, so stopping it stops everything it spawned; it gets
    SIGTERM if the process that started it dies without stopping it."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                with_parent(self.command),
                env=self.env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace_seconds: float = 20.0) -> None:
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Children that outlived their parent's SIGTERM (a run worker, say) go with the group.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def tail(self, n: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


class LiveSystem:
    """Start with `start()`, end with `stop()`; or use it as a context manager."""

    def __init__(self, paths: Paths, ports: Ports | None = None, with_ui: bool = True):
        self.paths, self.ports, self.with_ui = paths, ports or Ports(), with_ui
        self.log_dir = paths.home / "logs"
        self.children: list[Child] = []
        self.service: ServiceProcess | None = None

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONTINUAL_ML_HOME": str(self.paths.home),
            "DAGSTER_HOME": str(self.paths.dagster_home),
            "BENTOML_HOME": str(self.paths.bentoml_home),
            "MLFLOW_TRACKING_URI": self.paths.mlflow_tracking_uri,
            "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
            "DAGSTER_CODE_SERVER_PORT": str(self.ports.code_server),
            "CONTINUAL_ML_DAGSTER_UI_URL": f"http://127.0.0.1:{self.ports.webserver}",
            "CONTINUAL_ML_MLFLOW_UI_URL": f"http://127.0.0.1:{self.ports.mlflow}",
        }

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Child:
        child = Child(name, command, {**self.environment(), **(env or {})}, self.log_dir).start()
        self.children.append(child)
        return child

    def start(self, timeout_seconds: float = 300.0) -> LiveSystem:
        try:
            self._start(timeout_seconds)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout_seconds: float) -> None:
        env = self.environment()
        self.service = ServiceProcess(
            self.paths.bentoml_home,
            self.log_dir / "service.log",
            self.paths.prediction_logs,
            port=self.ports.service,
            extra_env={k: env[k] for k in ("CONTINUAL_ML_HOME", "MLFLOW_TRACKING_URI")},
        ).start(wait_ready=False)
        code_server = self._spawn(
            "code_server",
            [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1"]
            + ["-p", str(self.ports.code_server), "-m", "continual_ml.definitions"],
        )
        self._wait(lambda: _port_open(self.ports.code_server), code_server, timeout_seconds)
        self._spawn("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)])
        waits = []
        if self.with_ui:
            webserver = self._spawn(
                "webserver",
                [str(BIN / "dagster-webserver"), "-h", "127.0.0.1"]
                + ["-p", str(self.ports.webserver), "-w", str(WORKSPACE)],
            )
            # One worker and no job runner: a UI for one person, not a shared tracking server.
            mlflow = self._spawn(
                "mlflow",
                [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--workers", "1"]
                + ["--port", str(self.ports.mlflow)]
                + ["--backend-store-uri", self.paths.mlflow_tracking_uri],
                {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            )
            waits = [
                (webserver, lambda: self._http_ok(self.ports.webserver, "/server_info")),
                (mlflow, lambda: self._http_ok(self.ports.mlflow, "/health")),
            ]
        for child, ready in waits:
            self._wait(ready, child, timeout_seconds)
        self.service.wait_ready(timeout_seconds)
        self.write_state()

    @staticmethod
    def _http_ok(port: int, path: str) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, ready, child: Child, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if ready():
                return
            if not child.alive():
                raise RuntimeError(f"{child.name} exited; its log ends:\n{child.tail()}")
            time.sleep(0.3)
        raise TimeoutError(f"{child.name} not ready in {timeout_seconds}s:\n{child.tail()}")

    def urls(self) -> dict[str, str]:
        urls = {"service": self.service.url if self.service else ""}
        if self.with_ui:
            urls["dagster"] = f"http://127.0.0.1:{self.ports.webserver}"
            urls["mlflow"] = f"http://127.0.0.1:{self.ports.mlflow}"
        return urls

    def write_state(self) -> None:
        state = {"urls": self.urls(), "pids": {c.name: c.process.pid for c in self.children}}
        (self.paths.home / STATE_FILE).write_text(json.dumps(state, indent=2))

    def dead_children(self) -> list[str]:
        dead = [c.name for c in self.children if not c.alive()]
        if self.service and self.service.process and self.service.process.poll() is not None:
            dead.append("service")
        return dead

    def stop(self) -> None:
        """Stop what feeds the warehouse first (the daemon and its runs), then the rest."""
        order = {"daemon": 0, "code_server": 1}
        for child in sorted(self.children, key=lambda c: order.get(c.name, 2)):
            child.stop()
        if self.service:
            self.service.stop()
        (self.paths.home / STATE_FILE).unlink(missing_ok=True)

    def __enter__(self) -> LiveSystem:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def read_state(paths: Paths) -> dict | None:
    state = paths.home / STATE_FILE
    return json.loads(state.read_text()) if state.exists() else None
