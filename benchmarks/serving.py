"""Our BentoML service against a bare Starlette app serving the same model, side by side.

A third server, FastAPI calling the scikit-learn pipeline per request (what a plain first
version looks like), answers the single-row `/predict` cases too.

The servers run at once on loopback, one worker each, and every case is measured on each in
turn: single rows to `/predict` at several concurrencies; single rows to our
`/predict_rows`, where BentoML's adaptive batching merges concurrent requests (the bare app
answers the same rows on `/predict`); 1,000-row `/predict_batch`; and, for our service, load
while two new champions are promoted, on each single-row route. The cases are loaded by `wrk`
(`benchmarks.wrk_load`: one C thread, a few microseconds of CPU a request), with every server
pinned to the first core and wrk to the second (`--no-pin` lets them float); the swaps by the
Python generator (`benchmarks.load_generator`), which checks each answer's model version.
Prints a markdown table and writes JSON to `benchmarks/results/serving.json`.

    python -m benchmarks.serving --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import psutil

from benchmarks.bare_asgi_app import BareAppProcess
from benchmarks.load_generator import JSON_HEADERS, generate_load
from benchmarks.serving_report import comparison_row, markdown_table, swap_line
from benchmarks.stamp import stamp
from benchmarks.wrk_load import WrkRun, run_wrk
from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml_tests.support.exported_models import export_champion

RESULTS = Path(__file__).parent / "results" / "serving.json"
SINGLE_CONCURRENCIES = (1, 8, 16, 32, 64)
BATCH_CONCURRENCIES = (1, 4)
BATCH_ROWS = 1_000
SWAP_CONCURRENCY = 64
# BentoML's histogram of how many requests each merged call of a batchable API took
MERGED_METRIC = re.compile(
    r'^bentoml_service_adaptive_batch_size_(sum|count)\{[^}]*method_name="predict_rows"[^}]*\} '
    r"(\S+)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Case:
    """One load case: the route and body each server is sent, at one concurrency."""

    label: str
    concurrency: int
    requests: dict[str, tuple[str, bytes]]  # server name -> (path, body)
    rows_per_request: int = 1

    @property
    def unit(self) -> str:
        return "rows_per_s" if self.rows_per_request > 1 else "requests_per_s"


def trained_models(family: str = "logistic_regression") -> dict[int, tuple[bytes, str]]:
    """Champions as skops bytes and sha256: before, at and after the drift, and again later."""
    config = default_config()
    config = config.model_copy(update={"model": config.model.model_copy(update={"family": family})})
    models = {}
    for version, first_day in ((1, 0), (2, 8), (3, 10)):
        days = [
            generate_batch(config, partition_date(config, d)) for d in (first_day, first_day + 1)
        ]
        models[version] = serialize_model(fit_candidate(config, pd.concat(days)))
    # later promotions of the same models under new versions, for a second swap run
    models[4], models[5] = models[2], models[3]
    return models


def request_bodies(batch_rows: int) -> dict[str, bytes]:
    """One row as `/predict` and as `/predict_rows` take it, and `batch_rows` rows at once."""
    config = default_config()
    rows = generate_batch(config, partition_date(config, 0))[config.feature_names]
    rows = pd.concat([rows] * (batch_rows // len(rows) + 1)).head(batch_rows)
    records = rows.to_dict("records")
    return {
        "single": json.dumps({"features": records[0]}).encode(),
        "one_row_list": json.dumps({"rows": records[:1]}).encode(),
        "batch": json.dumps({"rows": records}).encode(),
    }


def load_cases(
    bodies: dict[str, bytes],
    single_concurrencies: Sequence[int],
    batch_concurrencies: Sequence[int],
    batch_rows: int,
    adaptive: bool = True,
) -> list[Case]:
    single = ("/predict", bodies["single"])
    cases = [
        Case("/predict", c, {"ours": single, "bare": single, "fastapi": single})
        for c in single_concurrencies
    ]
    if adaptive:
        batched = ("/predict_rows", bodies["one_row_list"])
        cases += [
            Case("/predict_rows", c, {"ours": batched, "bare": single})
            for c in single_concurrencies
        ]
    batch = ("/predict_batch", bodies["batch"])
    cases += [
        Case("/predict_batch", c, {"ours": batch, "bare": batch}, batch_rows)
        for c in batch_concurrencies
    ]
    return cases


def promote(store: Path, version: int, models: dict[int, tuple[bytes, str]]) -> None:
    artifact, sha256 = models[version]
    export_champion(store, default_config(), version, artifact, sha256)


def merged_totals(url: str) -> tuple[float, float]:
    """Requests merged into `/predict_rows` calls so far, and the number of those calls."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    totals = {name: float(value) for name, value in MERGED_METRIC.findall(text)}
    return totals.get("sum", 0.0), totals.get("count", 0.0)


async def swap_under_load(
    service: ServiceProcess, path: str, body: bytes, duration: float, models: dict, versions
) -> dict:
    """Load at `SWAP_CONCURRENCY` while `versions` are promoted at a third and two thirds in."""
    promotions = []

    async def promote_twice(started: float) -> None:
        loop = asyncio.get_running_loop()
        for version, at in zip(versions, (duration / 3, 2 * duration / 3), strict=True):
            await asyncio.sleep(max(0.0, started + at - loop.time()))
            promoted_at = loop.time() - started
            # export_champion blocks on file I/O; a thread keeps the workers sending
            await asyncio.to_thread(promote, service.bentoml_home, version, models)
            promotions.append({"version": version, "promoted_at_s": promoted_at})

    load = await generate_load(
        service.url,
        path,
        body,
        SWAP_CONCURRENCY,
        duration,
        server_pid=service.process.pid,
        track_versions=True,
        during=promote_twice,
    )
    load.server = "ours"
    for promotion in promotions:
        first = load.version_first_seen_s.get(promotion["version"])
        promotion["first_served_s"] = first
        promotion["seconds_to_serve"] = (
            None if first is None else first - promotion["promoted_at_s"]
        )
    async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
        served_after = (await client.get("/model")).json()["model_version"]
    sequences = Counter(">".join(map(str, v)) for v in load.worker_versions)
    return {
        **load.as_json(),
        "promotions": promotions,
        "versions_first_seen_s": load.version_first_seen_s,
        "worker_version_sequences": dict(sequences),
        "served_version_after": served_after,
    }


def measure(
    servers: dict[str, ServiceProcess | BareAppProcess],
    cases: list[Case],
    bodies: dict[str, bytes],
    duration: float,
    rounds: int,
    client_cpus: set[int] | None = None,
) -> list[dict]:
    """Every case on every server with wrk, in `rounds` interleaved slices of `duration / rounds`.

    Others' work on the shared cores comes and goes; slicing each case across the servers,
    in alternating order, exposes them to the same conditions.
    """
    for server in servers.values():  # warm-up: imports, caches, first requests
        run_wrk(server.url, "/predict", bodies["single"], 8, 2.0, cpus=client_cpus)
        run_wrk(server.url, "/predict_batch", bodies["batch"], 1, 1.0, cpus=client_cpus)
    rows = []
    for case in cases:
        totals = {
            name: WrkRun(path, case.concurrency, name, case.rows_per_request)
            for name, (path, _) in case.requests.items()
        }
        merged = [0.0, 0.0]
        for round_index in range(rounds):
            names = list(case.requests)
            names = names if round_index % 2 == 0 else names[::-1]
            for name in names:
                server, (path, body) = servers[name], case.requests[name]
                before = merged_totals(server.url) if path == "/predict_rows" else None
                load = run_wrk(
                    server.url,
                    path,
                    body,
                    case.concurrency,
                    duration / rounds,
                    server.process.pid,
                    client_cpus,
                    case.rows_per_request,
                )
                totals[name].absorb(load)
                if before is not None:
                    after = merged_totals(server.url)
                    merged = [merged[i] + after[i] - before[i] for i in (0, 1)]
        for name, total in totals.items():
            print(f"  {name:7} {total.path} c={case.concurrency}: {total.summary()}", flush=True)
        plain = totals["fastapi"].as_json() if "fastapi" in totals else None
        rows.append(comparison_row(case, totals["ours"].as_json(), totals["bare"].as_json(), plain))
        if merged[1]:
            rows[-1]["requests_per_merged_call"] = merged[0] / merged[1]
    return rows


def pin(process_id: int, cpus: set[int]) -> None:
    """Pin a server and every process it started to `cpus`."""
    root = psutil.Process(process_id)
    for process in [root, *root.children(recursive=True)]:
        process.cpu_affinity(sorted(cpus))


def run(
    duration: float = 10.0,
    single_concurrencies: Sequence[int] = SINGLE_CONCURRENCIES,
    batch_concurrencies: Sequence[int] = BATCH_CONCURRENCIES,
    batch_rows: int = BATCH_ROWS,
    output: Path | None = RESULTS,
    workdir: Path | None = None,
    bare_threadpool: bool = False,
    rounds: int = 5,
    adaptive: bool = True,
    family: str = "logistic_regression",
    pin_cpus: bool = True,
) -> dict:
    """Start both servers, measure every case on each, the swaps on ours; print and save.

    Champions of another `family` than the linear default have no fast scoring path on either
    server: each row costs a scikit-learn call, the case adaptive batching exists for.
    """
    rounds = max(1, min(rounds, int(duration)))  # slices of a second or more
    models = trained_models(family)
    bodies = request_bodies(batch_rows)
    cases = load_cases(bodies, single_concurrencies, batch_concurrencies, batch_rows, adaptive)
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
        plain = BareAppProcess(
            root / "bare" / "model.skops",
            1,
            root / "fastapi.log",
            module="benchmarks.fastapi_pipeline_app",
        )
        with ours, bare, plain:
            servers = {"ours": ours, "bare": bare, "fastapi": plain}
            answers = {
                name: httpx.post(
                    f"{server.url}/predict",
                    content=bodies["single"],
                    headers=JSON_HEADERS,
                    timeout=10,
                ).json()
                for name, server in servers.items()
            }
            client_cpus = None
            if pin_cpus and len(os.sched_getaffinity(0)) >= 2:
                # One core serves, the other loads: no server competes with the generator.
                for server in servers.values():
                    pin(server.process.pid, {0})
                client_cpus = {1}
            comparison = measure(servers, cases, bodies, duration, rounds, client_cpus)
            swaps = {
                "swap_under_load": asyncio.run(
                    swap_under_load(ours, "/predict", bodies["single"], duration, models, (2, 3))
                )
            }
            if adaptive:
                swaps["swap_under_load_adaptive"] = asyncio.run(
                    swap_under_load(
                        ours, "/predict_rows", bodies["one_row_list"], duration, models, (4, 5)
                    )
                )
    results = {
        "duration_s": duration,
        "rounds": rounds,
        "batch_rows": batch_rows,
        "model_family": family,
        "bare_predicts_in_threadpool": bare_threadpool,
        "load_generator": "wrk, one thread (swaps: the asyncio generator, which tracks versions)",
        "servers_pinned_to_cpu": 0 if client_cpus else None,
        "generator_pinned_to_cpu": 1 if client_cpus else None,
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            # others share these cores: the 1-minute load before and after says how quiet it was
            "load_average_1m": [load_before[0], os.getloadavg()[0]],
        },
        # the same model behind both: the same answer to the same row
        "same_probabilities": answers["ours"]["probabilities"] == answers["bare"]["probabilities"],
        "fastapi_probabilities": answers["fastapi"]["probabilities"],
        "comparison": comparison,
        **swaps,
    }
    print(markdown_table(results["comparison"]))
    for swap in swaps.values():
        print(swap_line(swap))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"stamp": stamp(), **results}, indent=2))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(SINGLE_CONCURRENCIES))
    parser.add_argument(
        "--batch-concurrency", type=int, nargs="+", default=list(BATCH_CONCURRENCIES)
    )
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved slices per case")
    parser.add_argument(
        "--no-adaptive", action="store_true", help="skip the adaptive-batching cases"
    )
    parser.add_argument("--family", default="logistic_regression", help="the champions' family")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument(
        "--no-pin", action="store_true", help="let servers and wrk float over all cores"
    )
    arguments = parser.parse_args(argv)
    run(
        arguments.duration,
        arguments.concurrency,
        arguments.batch_concurrency,
        arguments.batch_rows,
        output=arguments.output,
        rounds=arguments.rounds,
        adaptive=not arguments.no_adaptive,
        family=arguments.family,
        pin_cpus=not arguments.no_pin,
    )


if __name__ == "__main__":
    main()
