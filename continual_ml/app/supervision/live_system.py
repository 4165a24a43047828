"""The live system on the embedded default: Dagster code server, webserver and daemon, the MLflow
UI and the BentoML service, each a child process that `LiveSystem.stop` always ends, and that
`LiveSystem.components` lets a `Supervisor` watch and restart."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from continual_ml.app.supervision import process_table
from continual_ml.app.supervision.child_processes import Child
from continual_ml.app.supervision.daemon_heartbeats import DaemonHeartbeats
from continual_ml.app.supervision.service_process import REPO_ROOT, ServiceProcess, free_port
from continual_ml.app.supervision.supervisor import Component
from continual_ml.config import Paths
from continual_ml.settings import Settings

WORKSPACE = REPO_ROOT / "workspace.yaml"
STATE_FILE = "live.json"
BIN = Path(sys.executable).parent


@dataclass
class Ports:
    webserver: int = 3000
    mlflow: int = 5000
    service: int = 3001
    # DAGSTER_CODE_SERVER_PORT (a setting) pins it (a firewall, a second tool); else any free one.
    code_server: int = field(default_factory=lambda: _code_server_port() or free_port())

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port())


def _code_server_port() -> int | None:
    return Settings.from_env().code_server_port


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


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

    def write_state(self, supervision: dict | None = None) -> None:
        pids = {c.name: c.process.pid for c in self.children}
        if self.service and self.service.process:
            pids["service"] = self.service.process.pid
        state = {"urls": self.urls(), "pids": pids, "supervision": supervision or {}}
        # Written every second while `status` may read it: replaced whole, never seen half-written.
        path = self.paths.home / STATE_FILE
        partial = path.with_suffix(".tmp")
        try:
            partial.write_text(json.dumps(state, indent=2))
            partial.replace(path)
        except OSError:  # a full disk: the last whole state stays; `up` watches the disk itself
            partial.unlink(missing_ok=True)

    def components(self) -> list[Component]:
        """Each process, with how to tell it is alive and answering and how to restart it."""
        child = {c.name: c for c in self.children}
        code_server = CodeServerPing(self.ports.code_server)
        heartbeats = DaemonHeartbeats(self.paths.dagster_home)
        components = [
            Component(
                "code_server",
                child["code_server"].alive,
                lambda: child["code_server"].restart(keep_descendants=True),
                # The parent of `dagster code-server start` may outlive its gRPC child; a ping
                # is forwarded to that child, so it fails when the child is gone.
                code_server.answers,
                child["code_server"].stopped,
            ),
            Component(
                "daemon",
                child["daemon"].alive,
                child["daemon"].restart,
                # Its process may be there with its threads stuck: its heartbeats tell.
                lambda: heartbeats.fresh(process_table.started_at(child["daemon"].process.pid)),
                child["daemon"].stopped,
            ),
        ]
        if self.with_ui:
            for name, port, path in (
                ("webserver", self.ports.webserver, "/server_info"),
                ("mlflow", self.ports.mlflow, "/health"),
            ):
                components.append(
                    Component(
                        name,
                        child[name].alive,
                        child[name].restart,
                        lambda port=port, path=path: self._http_ok(port, path),
                        # Its main process may be stopped while its child still answers.
                        child[name].stopped,
                    )
                )
        service = self.service
        components.append(
            Component(
                "service",
                service.alive,
                lambda: (service.stop(), service.start(wait_ready=False)),
                lambda: self._http_ok(self.ports.service, "/livez"),
                service.stopped,
            )
        )
        return components

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


class CodeServerPing:
    """Pings the code server from a thread, so a server that hangs cannot stall the caller: an
    answer must come within `timeout_seconds`, and a ping still pending counts as no answer."""

    def __init__(self, port: int, timeout_seconds: float = 5.0) -> None:
        self.port, self.timeout_seconds = port, timeout_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="code-server-ping")
        self._pending: Future | None = None

    def _ping(self) -> None:
        from continual_ml.app.supervision.dagster_internals import code_server_answers

        code_server_answers(self.port)

    def answers(self) -> bool:
        if self._pending is not None and not self._pending.done():
            return False
        self._pending = self._executor.submit(self._ping)
        try:
            self._pending.result(timeout=self.timeout_seconds)
        except Exception:  # unreachable, refused, or timed out: all mean "not answering"
            return False
        return True


def read_state(paths: Paths) -> dict | None:
    state = paths.home / STATE_FILE
    return json.loads(state.read_text()) if state.exists() else None
