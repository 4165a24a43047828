"""The subcommands that run on: `up` (the live system) and `worker` (a Celery worker)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from continual_ml.app.local_home import prepare
from continual_ml.config import Paths


def up(args: argparse.Namespace, paths: Paths) -> int:
    # Imported here: `up` loads what the live system needs, which other commands never use.
    from continual_ml.app.cli.up import run_up
    from continual_ml.app.supervision.live_system import Ports

    prepare(paths)  # exports DAGSTER_HOME and friends for this process and what it starts
    ports = Ports(args.dagster_port, args.mlflow_port, args.service_port)
    os.environ["CONTINUAL_ML_DAGSTER_UI_URL"] = f"http://127.0.0.1:{args.dagster_port}"
    return run_up(
        paths,
        ports,
        args.traffic,
        args.days,
        args.day_seconds,
        traffic_from=args.traffic_from,
    )


def worker(args: argparse.Namespace, paths: Paths) -> int:
    from continual_ml.app.workers.command import exec_worker

    exec_worker(args.name, args.concurrency, Path(args.workdir))  # replaces this process
    return 0
