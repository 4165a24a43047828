"""A lean closed-loop load generator for the serving benchmark: `wrk`, driven from Python.

The asyncio generator in `benchmarks.load_generator` spends ~0.8 ms of CPU per request, more
than our server does, and on two cores that caps what it can measure. `wrk` (C, one epoll thread)
spends a few microseconds per request, so the servers, not the client, set the figures. A Lua
script posts a fixed body and prints the run's counts and latency percentiles as one JSON line.

`wrk` comes from the Debian package of that name: `make bench-tools` installs it, and so does
`ensure_tool` when the benchmark runs as root on a machine with apt-get (as CI does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.load_generator import process_tree_cpu_s

PERCENTILES = (50, 90, 99)
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def ensure_tool(name: str) -> str:
    """The path of `name`, installed from Debian's package of that name first if missing and
    we may (root with apt-get, as in CI); `make bench-tools` installs them all."""
    path = f"{os.environ.get('PATH', '')}{os.pathsep}/usr/sbin{os.pathsep}/sbin"  # nginx's place
    found = shutil.which(name, path=path)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", name]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
            subprocess.run(install, env=env, capture_output=True, check=True)
        found = shutil.which(name, path=path)
    if not found:
        raise RuntimeError(f"the serving benchmarks need {name}: `make bench-tools` installs it")
    return found


def lua_script(body: bytes) -> str:
    """A wrk script that POSTs `body` as JSON and prints the summary as JSON when done."""
    text = body.decode()
    level = "=" * next(n for n in range(1, 10) if f"]{'=' * n}]" not in text)
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [{level}[{text}]{level}]\n{DONE}"
    )


@dataclass
class WrkRun:
    """What wrk measured for one case against one server, over one or more rounds.

    wrk reports percentiles, not samples: a case's p50/p90/p99 are the median over its rounds
    of each round's percentile (rounds are equally long), and its max the largest.
    """

    path: str
    concurrency: int
    server: str = ""
    rows_per_request: int = 1
    seconds: float = 0.0
    succeeded: int = 0
    failures: Counter = field(default_factory=Counter)
    rounds: list[dict] = field(default_factory=list)
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0

    def absorb(self, other: WrkRun) -> None:
        self.seconds += other.seconds
        self.succeeded += other.succeeded
        self.failures.update(other.failures)
        self.rounds += other.rounds
        if other.server_cpu_s is not None:
            self.server_cpu_s = (self.server_cpu_s or 0.0) + other.server_cpu_s
        self.client_cpu_s += other.client_cpu_s

    def as_json(self) -> dict:
        failed = sum(self.failures.values())
        per_request = 1000 / max(1, self.succeeded + failed)
        percentiles = {
            f"p{p}_ms": float(np.median([r[f"p{p}_us"] for r in self.rounds])) / 1000
            for p in PERCENTILES
        }
        return {
            "server": self.server,
            "path": self.path,
            "concurrency": self.concurrency,
            "rows_per_request": self.rows_per_request,
            "generator": "wrk",
            "seconds": self.seconds,
            "succeeded": self.succeeded,
            "failed": failed,
            "failures": dict(self.failures),
            "requests_per_s": self.succeeded / self.seconds if self.seconds else 0.0,
            "rows_per_s": (
                self.succeeded * self.rows_per_request / self.seconds if self.seconds else 0.0
            ),
            **percentiles,
            "p99_ms_rounds": [r["p99_us"] / 1000 for r in self.rounds],
            "max_ms": max(r["max_us"] for r in self.rounds) / 1000,
            "server_cpu_ms_per_request": (
                None if self.server_cpu_s is None else self.server_cpu_s * per_request
            ),
            "client_cpu_ms_per_request": self.client_cpu_s * per_request,
        }

    def summary(self) -> str:
        row = self.as_json()
        return (
            f"{row['requests_per_s']:,.0f} req/s, p50 {row['p50_ms']:.1f} ms, "
            f"p99 {row['p99_ms']:.1f} ms, {row['failed']} failed (wrk)"
        )


def run_wrk(
    url: str,
    path: str,
    body: bytes,
    concurrency: int,
    duration: float,
    server_pid: int | None = None,
    cpus: set[int] | None = None,
    rows_per_request: int = 1,
) -> WrkRun:
    """`concurrency` keep-alive connections POST `body` back to back for `duration` seconds.

    One wrk thread is enough on loopback; `cpus` pins it (and so keeps it off the server's).
    Non-2xx answers, timeouts and socket errors count as failures.
    """
    wrk = ensure_tool("wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(body))
    command = [
        *(["taskset", "-c", ",".join(map(str, sorted(cpus)))] if cpus else []),
        wrk,
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "-s",
        script.name,
        f"{url}{path}",
    ]
    try:
        server_before = process_tree_cpu_s(server_pid) if server_pid else None
        client_before = os.times()
        finished = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
        client_after = os.times()
        server_cpu = process_tree_cpu_s(server_pid) - server_before if server_pid else None
    finally:
        Path(script.name).unlink(missing_ok=True)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed: {finished.stderr or finished.stdout}")
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    failures = Counter(
        {
            ("HTTP non-2xx" if kind == "status" else kind): summary[kind]
            for kind in ("connect", "read", "write", "status", "timeout")
            if summary[kind]
        }
    )
    return WrkRun(
        path,
        concurrency,
        rows_per_request=rows_per_request,
        seconds=summary["duration_us"] / 1e6,
        succeeded=summary["requests"] - summary["status"],
        failures=failures,
        rounds=[summary],
        server_cpu_s=server_cpu,
        client_cpu_s=(client_after.children_user + client_after.children_system)
        - (client_before.children_user + client_before.children_system),
    )
