"""Our BentoML service against a bare Starlette app serving the same model, side by side.

Both servers run at once on loopback, one worker each, and every case is measured on one and
then the other: single-row `/predict` at several concurrencies, 1,000-row `/predict_batch`, and
for our service a run under load while two new champions are promoted. The load generator is
an asyncio httpx client, one keep-alive client per worker sending pre-serialized bodies back to
back for a fixed time; it shares the machine's cores with the server, and the server's own CPU
time per request is reported too. Prints a markdown table and writes JSON to
`benchmarks/results/serving.json`.

    python -m benchmarks.serving --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil

from benchmarks.bare_asgi_app import BareAppProcess
from continual_ml.config import default_config
from continual_ml.model_store import export_champion
from continual_ml.service_process import ServiceProcess
from continual_ml.synthetic_stream import generate_batch, partition_date
from continual_ml.training import fit_candidate, serialize_model

RESULTS = Path(__file__).parent / "results" / "serving.json"
SINGLE_CONCURRENCIES = (1, 8, 16, 32, 64)
BATCH_CONCURRENCIES = (1, 4)
BATCH_ROWS = 1_000
SWAP_CONCURRENCY = 64
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
                version = response.json()["model_version"]
                if not versions or versions[-1] != version:
                    versions.append(version)
                    load.version_first_seen_s.setdefault(version, loop.time() - started)

    try:
        await asyncio.gather(*(c.post(path, content=body, headers=JSON_HEADERS) for c in clients))
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
        await asyncio.gather(*(c.aclose() for c in clients))
    return load


def trained_models() -> dict[int, tuple[bytes, str]]:
    """Three different champions as skops bytes and sha256: before, at and after the drift."""
    config = default_config()
    models = {}
    for version, first_day in ((1, 0), (2, 8), (3, 10)):
        days = [
            generate_batch(config, partition_date(config, d)) for d in (first_day, first_day + 1)
        ]
        models[version] = serialize_model(fit_candidate(config, pd.concat(days)))
    return models


def request_bodies(batch_rows: int) -> tuple[bytes, bytes]:
    """A one-row `/predict` body and a `batch_rows`-row `/predict_batch` body, from the stream."""
    config = default_config()
    rows = generate_batch(config, partition_date(config, 0))[config.feature_names]
    rows = pd.concat([rows] * (batch_rows // len(rows) + 1)).head(batch_rows)
    records = rows.to_dict("records")
    single = json.dumps({"features": records[0]}).encode()
    return single, json.dumps({"rows": records}).encode()


def promote(store: Path, version: int, models: dict[int, tuple[bytes, str]]) -> None:
    artifact, sha256 = models[version]
    export_champion(store, default_config(), version, artifact, sha256)


async def swap_under_load(
    service: ServiceProcess, body: bytes, duration: float, models: dict
) -> tuple[LoadRun, list[dict]]:
    """Load at `SWAP_CONCURRENCY` while v2 and v3 are promoted at a third and two thirds in."""
    promotions = []

    async def promote_twice(started: float) -> None:
        loop = asyncio.get_running_loop()
        for version, at in ((2, duration / 3), (3, 2 * duration / 3)):
            await asyncio.sleep(max(0.0, started + at - loop.time()))
            promoted_at = loop.time() - started
            # export_champion blocks on file I/O; a thread keeps the workers sending
            await asyncio.to_thread(promote, service.bentoml_home, version, models)
            promotions.append({"version": version, "promoted_at_s": promoted_at})

    load = await generate_load(
        service.url,
        "/predict",
        body,
        SWAP_CONCURRENCY,
        duration,
        server_pid=service.process.pid,
        track_versions=True,
        during=promote_twice,
    )
    for promotion in promotions:
        first = load.version_first_seen_s.get(promotion["version"])
        promotion["first_served_s"] = first
        promotion["seconds_to_serve"] = (
            None if first is None else first - promotion["promoted_at_s"]
        )
    return load, promotions


async def measure(
    servers: dict[str, ServiceProcess | BareAppProcess],
    bodies: tuple[bytes, bytes],
    duration: float,
    rounds: int,
    single_concurrencies: Sequence[int],
    batch_concurrencies: Sequence[int],
    batch_rows: int,
) -> list[LoadRun]:
    """Every case on every server, in `rounds` interleaved slices of `duration / rounds` each.

    Others' work on the shared cores comes and goes; slicing each case across both servers,
    in alternating order, exposes them to the same conditions.
    """
    single, batch = bodies
    cases = [("/predict", single, c, 1) for c in single_concurrencies]
    cases += [("/predict_batch", batch, c, batch_rows) for c in batch_concurrencies]
    for server in servers.values():  # warm-up: imports, caches, first requests
        await generate_load(server.url, "/predict", single, 8, min(2.0, duration / 2))
        await generate_load(server.url, "/predict_batch", batch, 1, min(1.0, duration / 4))
    runs = []
    for path, body, concurrency, rows in cases:
        totals = {name: LoadRun(path, concurrency, name, rows) for name in servers}
        for round_index in range(rounds):
            names = list(servers) if round_index % 2 == 0 else list(servers)[::-1]
            for name in names:
                server = servers[name]
                totals[name].absorb(
                    await generate_load(
                        server.url, path, body, concurrency, duration / rounds, server.process.pid
                    )
                )
        for name, total in totals.items():
            print(f"  {name:4} {path} c={concurrency}: {total.summary()}", flush=True)
        runs += totals.values()
    return runs


def run(
    duration: float = 10.0,
    single_concurrencies: Sequence[int] = SINGLE_CONCURRENCIES,
    batch_concurrencies: Sequence[int] = BATCH_CONCURRENCIES,
    batch_rows: int = BATCH_ROWS,
    output: Path | None = RESULTS,
    workdir: Path | None = None,
    bare_threadpool: bool = False,
    rounds: int = 5,
) -> dict:
    """Start both servers, measure every case on each, the swaps on ours; print and save."""
    rounds = max(1, min(rounds, int(duration)))  # slices of a second or more
    models = trained_models()
    bodies = request_bodies(batch_rows)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        root = Path(scratch)
        promote(root / "bentoml", 1, models)
        (root / "bare").mkdir()
        (root / "bare" / "model.skops").write_bytes(models[1][0])
        ours = ServiceProcess(root / "bentoml", root / "service.log", root / "prediction_logs")
        bare = BareAppProcess(
            root / "bare" / "model.skops", 1, root / "bare.log", threadpool=bare_threadpool
        )
        with ours, bare:
            servers = {"ours": ours, "bare": bare}
            answers = {
                name: httpx.post(
                    f"{server.url}/predict", content=bodies[0], headers=JSON_HEADERS, timeout=10
                ).json()
                for name, server in servers.items()
            }
            runs = asyncio.run(
                measure(
                    servers,
                    bodies,
                    duration,
                    rounds,
                    single_concurrencies,
                    batch_concurrencies,
                    batch_rows,
                )
            )
            swap_run, promotions = asyncio.run(swap_under_load(ours, bodies[0], duration, models))
            served_after = httpx.get(f"{ours.url}/model", timeout=10).json()["model_version"]
    swap_run.server = "ours"
    sequences = Counter(">".join(map(str, v)) for v in swap_run.worker_versions)
    results = {
        "duration_s": duration,
        "rounds": rounds,
        "batch_rows": batch_rows,
        "bare_predicts_in_threadpool": bare_threadpool,
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            # others share these cores: the 1-minute load before and after says how quiet it was
            "load_average_1m": [load_before[0], os.getloadavg()[0]],
        },
        # the same model behind both: the same answer to the same row
        "same_probabilities": answers["ours"]["probabilities"] == answers["bare"]["probabilities"],
        "runs": [r.as_json() for r in runs],
        "comparison": comparison(runs),
        "swap_under_load": {
            **swap_run.as_json(),
            "promotions": promotions,
            "versions_first_seen_s": swap_run.version_first_seen_s,
            "worker_version_sequences": dict(sequences),
            "served_version_after": served_after,
        },
    }
    print(markdown_table(results["comparison"]))
    print(swap_line(results["swap_under_load"]))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2))
    return results


def comparison(runs: list[LoadRun]) -> list[dict]:
    """One row per case: ours, bare and ours/bare throughput."""
    by_case: dict[tuple, dict[str, LoadRun]] = {}
    for load in runs:
        by_case.setdefault((load.path, load.concurrency), {})[load.server] = load
    rows = []
    for (path, concurrency), pair in by_case.items():
        ours, bare = pair["ours"].as_json(), pair["bare"].as_json()
        unit = "rows_per_s" if path == "/predict_batch" else "requests_per_s"
        rows.append(
            {
                "path": path,
                "concurrency": concurrency,
                "unit": unit,
                "ours": ours,
                "bare": bare,
                "throughput_ratio": ours[unit] / bare[unit] if bare[unit] else None,
            }
        )
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| case | conc. | ours | bare | ours/bare | p50 ms ours / bare | p99 ms ours / bare "
        "| failed ours / bare | server CPU ms/req ours / bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours, bare = row["ours"], row["bare"]
        unit = "rows/s" if row["unit"] == "rows_per_s" else "req/s"
        ratio = f"{row['throughput_ratio']:.0%}" if row["throughput_ratio"] is not None else "-"
        lines.append(
            f"| `{row['path']}` ({unit}) | {row['concurrency']} "
            f"| {ours[row['unit']]:,.0f} | {bare[row['unit']]:,.0f} | {ratio} "
            f"| {ours['p50_ms']:.1f} / {bare['p50_ms']:.1f} "
            f"| {ours['p99_ms']:.1f} / {bare['p99_ms']:.1f} "
            f"| {ours['failed']} / {bare['failed']} "
            f"| {ours['server_cpu_ms_per_request']:.2f} / {bare['server_cpu_ms_per_request']:.2f} |"
        )
    return "\n".join(lines)


def swap_line(swaps: dict) -> str:
    sequences = ", ".join(f"{k} ({n})" for k, n in swaps["worker_version_sequences"].items())
    waits = ", ".join(
        f"v{p['version']} served {p['seconds_to_serve']:.2f}s after promotion"
        if p["seconds_to_serve"] is not None
        else f"v{p['version']} never served"
        for p in swaps["promotions"]
    )
    return (
        f"\nswap under load (ours, c={swaps['concurrency']}): {swaps['succeeded']:,} ok, "
        f"{swaps['failed']} failed, {swaps['requests_per_s']:,.0f} req/s, "
        f"p99 {swaps['p99_ms']:.1f} ms; versions each worker saw: {sequences}; "
        f"{waits}; /model says v{swaps['served_version_after']}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(SINGLE_CONCURRENCIES))
    parser.add_argument(
        "--batch-concurrency", type=int, nargs="+", default=list(BATCH_CONCURRENCIES)
    )
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved slices per case")
    arguments = parser.parse_args(argv)
    run(
        arguments.duration, arguments.concurrency, arguments.batch_concurrency, arguments.batch_rows
    )


if __name__ == "__main__":
    main()
