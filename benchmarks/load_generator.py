"""A closed-loop HTTP load generator for the serving benchmark, and what one run of it measured.

`concurrency` asyncio workers, each with its own keep-alive httpx client, POST a pre-serialized
body back to back for a fixed time. It runs on the same cores as the server it measures, so the
server's own CPU time per request (from its process tree) is recorded beside the client's.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
import psutil

MAX_REQUESTS_PER_CASE = 2_000_000  # a bound besides the duration
REQUEST_TIMEOUT_S = 30.0
JSON_HEADERS = {"content-type": "application/json"}


@dataclass
class LoadRun:
    """What one load case measured against one server."""

    path: str
    concurrency: int
    server: str = ""
    rows_per_request: int = 1
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0
    # per worker, the model versions it was answered by, each run of one version once
    worker_versions: list[list[int]] = field(default_factory=list)
    version_first_seen_s: dict[int, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        succeeded = len(self.latencies_s)
        latencies_ms = np.array(self.latencies_s or [np.nan]) * 1000
        per_request = 1000 / max(1, succeeded + sum(self.failures.values()))
        return {
            "server": self.server,
            "path": self.path,
            "concurrency": self.concurrency,
            "rows_per_request": self.rows_per_request,
            "seconds": self.seconds,
            "succeeded": succeeded,
            "failed": sum(self.failures.values()),
            "failures": dict(self.failures),
            "requests_per_s": succeeded / self.seconds,
            "rows_per_s": succeeded * self.rows_per_request / self.seconds,
            "p50_ms": float(np.percentile(latencies_ms, 50)),
            "p90_ms": float(np.percentile(latencies_ms, 90)),
            "p99_ms": float(np.percentile(latencies_ms, 99)),
            "max_ms": float(latencies_ms.max()),
            "server_cpu_ms_per_request": (
                None if self.server_cpu_s is None else self.server_cpu_s * per_request
            ),
            "client_cpu_ms_per_request": self.client_cpu_s * per_request,
        }

    def absorb(self, other: LoadRun) -> None:
        """Add another round of the same case to this one."""
        self.seconds += other.seconds
        self.latencies_s += other.latencies_s
        self.failures.update(other.failures)
        self.server_cpu_s = (self.server_cpu_s or 0.0) + (other.server_cpu_s or 0.0)
        self.client_cpu_s += other.client_cpu_s

    def summary(self) -> str:
        row = self.as_json()
        return (
            f"{row['requests_per_s']:,.0f} req/s, p50 {row['p50_ms']:.1f} ms, "
            f"p99 {row['p99_ms']:.1f} ms, {row['failed']} failed"
        )


def process_tree_cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process and all its descendants so far."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def model_version(payload) -> int:
    """The model version of a `/predict` answer or of a `/predict_rows` answer's first row."""
    return (payload[0] if isinstance(payload, list) else payload)["model_version"]


async def generate_load(
    url: str,
    path: str,
    body: bytes,
    concurrency: int,
    duration: float,
    server_pid: int | None = None,
    track_versions: bool = False,
    during=None,
) -> LoadRun:
    """`concurrency` workers each POST `body` back to back for `duration` seconds.

    Each worker has its own keep-alive client whose connection is opened before the clock
    starts. `during(started)`, if given, is awaited alongside the workers.
    """
    load = LoadRun(path, concurrency)
    loop = asyncio.get_running_loop()
    issued = itertools.count()
    clients = [
        httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) for _ in range(concurrency)
    ]

    async def worker(client: httpx.AsyncClient, deadline: float, started: float) -> None:
        versions: list[int] = []
        load.worker_versions.append(versions)
        while loop.time() < deadline and next(issued) < MAX_REQUESTS_PER_CASE:
            sent = time.perf_counter()
            try:
                response = await client.post(path, content=body, headers=JSON_HEADERS)
            except httpx.HTTPError as error:
                load.failures[type(error).__name__] += 1
                continue
            latency = time.perf_counter() - sent
            if response.status_code != 200:
                load.failures[f"HTTP {response.status_code}"] += 1
                continue
            load.latencies_s.append(latency)
            if track_versions:
                version = model_version(response.json())
                if not versions or versions[-1] != version:
                    versions.append(version)
                    load.version_first_seen_s.setdefault(version, loop.time() - started)

    try:
        await asyncio.gather(*(c.post(path, content=body, headers=JSON_HEADERS) for c in clients))
        # Collected now and frozen, the client's heap (pandas, scikit-learn) is not rescanned by
        # a full collection in the middle of the run, which would add its pause to latencies.
        gc.collect()
        gc.freeze()
        server_before = process_tree_cpu_s(server_pid) if server_pid else None
        client_before = time.process_time()
        started = loop.time()
        deadline = started + duration
        await asyncio.gather(
            *(worker(c, deadline, started) for c in clients), *([during(started)] if during else [])
        )
        load.seconds = loop.time() - started
        load.client_cpu_s = time.process_time() - client_before
        if server_pid:
            load.server_cpu_s = process_tree_cpu_s(server_pid) - server_before
    finally:
        gc.unfreeze()
        await asyncio.gather(*(c.aclose() for c in clients))
    return load
