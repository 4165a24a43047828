"""Processes the integration tests start: a free port, long-running services each in its own
process group (logs, liveness, bounded waits, stopping), a code server's health, and stopping a
process group the way Ctrl-C does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from continual_ml.app.supervision.dagster_internals import code_server_answers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Processes:
    """The long-running services, each in its own process group with its log in `logs`."""

    logs: Path
    cwd: Path
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            self.running[name] = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=env,
                start_new_session=True,
            )

    def tails(self, chars: int = 2500) -> str:
        return "\n".join(
            f"--- {log.name} ---\n{log.read_text(errors='replace')[-chars:]}"
            for log in sorted(self.logs.glob("*.log"))
        )

    def check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}\n{self.tails()}")

    def stop(self, *names: str) -> None:
        """Stop the named services (all by default), whole process groups, in reverse order."""
        stopping = [self.running.pop(name) for name in reversed(names or list(self.running))]
        for process in stopping:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in stopping:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def wait_for(self, what: str, condition: Callable[[], object], timeout: float) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            result = condition()
            if result:
                return result
            time.sleep(0.5)
        pytest.fail(f"{what}: not within {timeout:.0f} s\n{self.tails()}")


def serving(port: int) -> bool:
    try:
        # Connect first: the gRPC health check prints every refused connection.
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    try:
        code_server_answers(port)  # forwarded to the code server's gRPC child: it is up too
    except Exception:
        return False
    return True


def stop_group(process: subprocess.Popen) -> None:
    """SIGINT (what Ctrl-C sends), then SIGKILL for whatever of the group is left."""
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # make may exit before the dagster processes it started: take the whole group down anyway.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
