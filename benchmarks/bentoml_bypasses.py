"""What each BentoML bypass of the service buys: the service with each one turned off in turn.

`continual_ml.models.bentoml_internals` replaces BentoML middleware classes and binds the API
methods once. This runs one server with every bypass, one without each, and one with none
(`benchmarks/bypass_switch` turns them off at start-up), all pinned to the first core with wrk
on the second, and loads each in interleaved rounds with single rows on `/predict` (answered
behind the guard) and `/predict_rows` (BentoML's API path). Server CPU per request is the figure
that matters on a shared machine; throughput follows it. Writes
`benchmarks/results/bentoml_bypasses.json`.

    python -m benchmarks.bentoml_bypasses --duration 6 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import httpx

from benchmarks.serving import pin, promote, request_bodies, trained_models
from benchmarks.stamp import stamp
from benchmarks.wrk_load import WrkRun, run_wrk
from continual_ml.app.supervision.service_process import ServiceProcess

RESULTS = Path(__file__).parent / "results" / "bentoml_bypasses.json"
SWITCH = Path(__file__).parent / "bypass_switch"
BYPASSES = ("metrics", "timeout", "bind")
VARIANTS = {
    "all": (),
    **{f"without {name}": (name,) for name in BYPASSES},
    "none": BYPASSES,
}


def run(duration: float, rounds: int, concurrency: int, output: Path | None) -> dict:
    models = trained_models()
    bodies = request_bodies(10)
    cases = {"/predict": bodies["single"], "/predict_rows": bodies["one_row_list"]}
    pythonpath = os.pathsep.join(filter(None, [str(SWITCH), os.environ.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        root = Path(scratch)
        promote(root / "bentoml", 1, models)
        servers = {}
        for name, off in VARIANTS.items():
            folder = root / name.replace(" ", "_")
            env = {"PYTHONPATH": pythonpath, "CONTINUAL_ML_BYPASSES_OFF": ",".join(off)}
            server = ServiceProcess(root / "bentoml", folder / "log", folder / "logs", None, env)
            servers[name] = stack.enter_context(server)
        cpus = {1} if len(os.sched_getaffinity(0)) >= 2 else None
        for server in servers.values():
            if cpus:
                pin(server.process.pid, {0})
            for path, body in cases.items():  # warm-up
                run_wrk(server.url, path, body, concurrency, 1.0, cpus=cpus)
        totals = {
            (name, path): WrkRun(path, concurrency, name) for name in servers for path in cases
        }
        for index in range(rounds):
            order = list(servers) if index % 2 == 0 else list(servers)[::-1]
            for path, body in cases.items():
                for name in order:
                    url, pid = servers[name].url, servers[name].process.pid
                    load = run_wrk(url, path, body, concurrency, duration / rounds, pid, cpus)
                    totals[name, path].absorb(load)
        answers = {
            name: httpx.post(f"{s.url}/predict", content=bodies["single"], timeout=10).status_code
            for name, s in servers.items()
        }
    rows = []
    for (name, path), total in totals.items():
        figures = total.as_json()
        rows.append(
            {
                "variant": name,
                "bypasses_off": list(VARIANTS[name]),
                "path": path,
                "requests_per_s": figures["requests_per_s"],
                "server_cpu_ms_per_request": figures["server_cpu_ms_per_request"],
                "p50_ms": figures["p50_ms"],
                "p99_ms": figures["p99_ms"],
                "failed": figures["failed"],
            }
        )
        print(
            f"{name:18} {path:14} {figures['requests_per_s']:8,.0f} req/s "
            f"{figures['server_cpu_ms_per_request']:.3f} ms CPU/request "
            f"p99 {figures['p99_ms']:.1f} ms",
            flush=True,
        )
    results = {
        "stamp": stamp(),
        "command": "python -m benchmarks.bentoml_bypasses "
        f"--duration {duration} --rounds {rounds} --concurrency {concurrency}",
        "duration_s": duration,
        "rounds": rounds,
        "concurrency": concurrency,
        "final_status": answers,
        "rows": rows,
    }
    if output is not None:
        output.write_text(json.dumps(results, indent=2))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per case and server")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved slices per case")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    run(arguments.duration, arguments.rounds, arguments.concurrency, arguments.output)


if __name__ == "__main__":
    main()
