"""Datasets replayed each in a child process of its own, and the JSON report they fill.

A home's daily partitions are fixed when the code location is imported, hence one process per
dataset. The driver (`benchmarks.user_datasets`, `benchmarks.regression_loop`) runs itself again
as the child with `--one NAME --to SCRATCH`; the child plays the dataset through `run_one` and
writes its raw record to `SCRATCH/NAME.json`, which the parent reads back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from time import perf_counter

from benchmarks.stamp import stamp

OWN_ENV = ("CONTINUAL_ML_", "DAGSTER_", "BENTOML_", "MLFLOW_")


def new_report(module: str, settings: dict) -> dict:
    """An empty report for `python -m module`, stamped with the code that is about to run."""
    return {
        "stamp": stamp(),
        "command": f"python -m {module} " + " ".join(sys.argv[1:]),
        "settings": settings,
        "datasets": {},
    }


def replayed(
    module: str,
    names: Sequence[str],
    scratch: str,
    label_delay: int,
    days: int | None,
    jobs: int = 1,
) -> Iterator[tuple[str, dict | None]]:
    """Each dataset's raw record, in the given order as each is done (None where its child
    failed: the others still count); `jobs` children at once."""

    def replay(name: str) -> dict:
        argv = ["--one", name, "--to", scratch, "--label-delay", str(label_delay)]
        argv += ["--days", str(days)] if days else []
        subprocess.run(
            [sys.executable, "-m", module, *argv],
            check=True,
            # a fresh home each: nothing of the caller's continual-ml or Dagster settings
            env={k: v for k, v in os.environ.items() if not k.startswith(OWN_ENV)},
        )
        return json.loads((Path(scratch) / f"{name}.json").read_text())

    # Datasets are independent (a home each); `jobs` of them at once, in their own processes.
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {name: pool.submit(replay, name) for name in names}
        for name, future in futures.items():
            try:
                yield name, future.result()
            except subprocess.CalledProcessError as error:
                print(f"{name}: the replay failed ({error})", flush=True)
                yield name, None


def write_report(report: dict, started: float, output: Path) -> None:
    """The report as it stands, so that a long run interrupted keeps what it finished."""
    report["seconds"] = round(perf_counter() - started, 1)
    report["complete"] = len(report["datasets"]) == len(report["settings"]["datasets"])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str))


def replay_arguments(
    parser: argparse.ArgumentParser, names: list[str], default: Sequence[str], label_delay: int
) -> None:
    """The options a driver shares with its children, and the children's own (hidden)."""
    parser.add_argument("--datasets", nargs="+", choices=names, default=list(default))
    parser.add_argument("--days", type=int, help="replay at most this many days of each")
    parser.add_argument("--label-delay", type=int, default=label_delay, help="days")
    parser.add_argument("--out", type=Path, help="the JSON report's path")
    parser.add_argument("--one", choices=names, help=argparse.SUPPRESS)
    parser.add_argument("--to", help=argparse.SUPPRESS)


def replay_one(args: argparse.Namespace, run_one: Callable[..., dict]) -> None:
    """The child process: one dataset played by `run_one`, its raw record to `--to`."""
    result = run_one(args.one, Path(args.to) / args.one, args.label_delay, args.days)
    (Path(args.to) / f"{args.one}.json").write_text(json.dumps(result, default=str))
