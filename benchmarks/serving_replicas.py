"""One service replica against two behind one address, side by side, with wrk at concurrency 64.

Two `bentoml serve` processes follow one champion pointer and write one log folder (each with
its own `CONTINUAL_ML_REPLICA_ID`); nginx, configured as `docs/replicas.md` shows, balances them
behind one port. In interleaved rounds wrk loads: replica A directly; nginx in front of A alone;
nginx in front of A and B. The last two differ only in the second replica. Nothing is pinned:
replicas, nginx and wrk share the machine's cores. Writes
`benchmarks/results/serving_replicas.json`.

    python -m benchmarks.serving_replicas --duration 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import httpx

from benchmarks.serving import promote, request_bodies, trained_models
from benchmarks.stamp import stamp
from benchmarks.tables import markdown_table
from benchmarks.wrk_load import WrkRun, ensure_tool, run_wrk
from continual_ml.app.supervision.service_process import ServiceProcess, free_port

RESULTS = Path(__file__).parent / "results" / "serving_replicas.json"
CONCURRENCY = 64


def nginx_config(ports: Sequence[int], listen: int, prefix: Path | None = None) -> str:
    """An nginx config balancing the replicas on `ports` behind `listen` (see docs/replicas.md).

    With `prefix`, the pid, logs and temporary files go there (nginx run by an ordinary user).
    """
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n" for port in ports
    )
    local = (
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\ndaemon off;\n"
        if prefix
        else ""
    )
    temp = (
        "".join(
            f"  {kind}_temp_path {prefix}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        if prefix
        else ""
    )
    return f"""{local}worker_processes 1;
events {{ worker_connections 4096; }}
http {{
  access_log off;
{temp}  upstream continual_ml {{
    least_conn;
{servers}    keepalive 128;
  }}
  server {{
    listen 127.0.0.1:{listen};
    # the service refuses oversized bodies itself (413), with its own limits
    client_max_body_size 0;
    location / {{
      proxy_pass http://continual_ml;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


class Nginx:
    """nginx in the foreground with a config of its own, on a free loopback port."""

    def __init__(self, ports: Sequence[int], workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "nginx.conf").write_text(nginx_config(ports, self.port, workdir))
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        nginx = ensure_tool("nginx")
        command = [nginx, "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf")]
        self.process = subprocess.Popen(command, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.__exit__()
        raise TimeoutError(f"nginx not answering on {self.url}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=10)


PREDICTIONS = re.compile(r"^continual_ml_predictions_total\{[^}]*\} (\S+)$", re.MULTILINE)


def predictions_served(url: str) -> float:
    """Rows a replica has predicted so far, from its Prometheus counter."""
    return sum(map(float, PREDICTIONS.findall(httpx.get(f"{url}/metrics", timeout=10).text)))


def run(
    duration: float = 10.0,
    rounds: int = 5,
    concurrency: int = CONCURRENCY,
    output: Path | None = RESULTS,
) -> dict:
    models = trained_models()
    body = request_bodies(10)["single"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as running:
        root = Path(scratch)
        promote(root / "bentoml", 1, models)
        replicas = [
            running.enter_context(
                ServiceProcess(
                    root / "bentoml",
                    root / f"{name}.log",
                    root / "logs",
                    extra_env={"CONTINUAL_ML_REPLICA_ID": name},
                )
            )
            for name in ("replica-a", "replica-b")
        ]
        one = running.enter_context(Nginx([replicas[0].port], root / "nginx-one"))
        two = running.enter_context(Nginx([r.port for r in replicas], root / "nginx-two"))
        targets = {
            "one replica, direct": (replicas[0].url, [replicas[0]]),
            "one replica, nginx": (one.url, [replicas[0]]),
            "two replicas, nginx": (two.url, replicas),
        }
        for url, _ in targets.values():  # warm-up
            run_wrk(url, "/predict", body, 8, 2.0)
        totals = {name: WrkRun("/predict", concurrency, name) for name in targets}
        answered_by_b = 0.0
        for round_index in range(rounds):
            names = list(targets) if round_index % 2 == 0 else list(targets)[::-1]
            for name in names:
                url, _ = targets[name]
                before = predictions_served(replicas[1].url)
                load = run_wrk(url, "/predict", body, concurrency, duration / rounds)
                totals[name].absorb(load)
                answered_by_b += predictions_served(replicas[1].url) - before
    rows = {name: total.as_json() for name, total in totals.items()}
    one_rps = rows["one replica, nginx"]["requests_per_s"]
    results = {
        "duration_s": duration,
        "rounds": rounds,
        "concurrency": concurrency,
        "load_generator": "wrk, one thread; nothing pinned",
        "balancer": "nginx, one worker process, least_conn, keep-alive upstreams",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": [load_before[0], os.getloadavg()[0]],
        },
        "cases": rows,
        "two_over_one": rows["two replicas, nginx"]["requests_per_s"] / one_rps
        if one_rps
        else None,
        "nginx_over_direct": one_rps / rows["one replica, direct"]["requests_per_s"],
        # only the two-replica case reaches B: its share of that case's answers
        "share_answered_by_second_replica": answered_by_b
        / max(1, rows["two replicas, nginx"]["succeeded"]),
    }
    print(markdown(results))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"stamp": stamp(), **results}, indent=2))
    return results


def markdown(results: dict) -> str:
    header = ["`/predict`, concurrency 64", "req/s", "p50 ms", "p99 ms", "failed"]
    rows = [
        [
            name,
            f"{row['requests_per_s']:,.0f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            str(row["failed"]),
        ]
        for name, row in results["cases"].items()
    ]
    return markdown_table(header, rows, "lrrrr")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved slices per case")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    run(arguments.duration, arguments.rounds, arguments.concurrency, arguments.output)


if __name__ == "__main__":
    main()
