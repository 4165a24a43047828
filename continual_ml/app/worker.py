"""`continual-ml worker`: a process that executes the steps of runs sent to Celery.

A worker needs the settings the steps read (warehouse, MLflow, dataset config) and the Celery
URLs; nothing of the instance that launched the run but what each step carries (the run's id and
the instance's storage, Postgres). It works in its own folder, so two workers on one machine
share no local file the settings do not name.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from continual_ml.defs.executors import CELERY_QUEUE


def worker_argv(name: str, concurrency: int) -> list[str]:
    """The `celery worker` command line: one queue, one step per process at a time."""
    celery = str(Path(sys.executable).with_name("celery"))
    return [
        celery,
        "--app",
        "continual_ml.app.celery_worker",
        "worker",
        "--queues",
        CELERY_QUEUE,
        "--hostname",
        f"{name}@{socket.gethostname()}",
        "--concurrency",
        str(concurrency),
        "--prefetch-multiplier",
        "1",
        "--loglevel",
        "INFO",
        # Gossip, mingle and heartbeats are broadcasts the SQLAlchemy broker cannot carry.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def exec_worker(name: str, concurrency: int, workdir: Path) -> None:
    """Become the worker, in `workdir` (created if missing)."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    argv = worker_argv(name, concurrency)
    os.execv(argv[0], argv)
