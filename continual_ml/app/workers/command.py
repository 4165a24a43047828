"""`continual-ml worker`: a process that executes the runs the run launcher sends to Celery,
each run whole (all its steps, in-process) in one of the worker's pool processes.

A worker needs the settings the runs read (warehouse, MLflow, dataset config), the Celery URLs,
and the instance the runs belong to: `DAGSTER_HOME` with the profile's instance file
(docs/dagster-workers.yaml), as dagster-celery's run task loads it. It works in its own folder,
so two workers on one machine share no local file the settings do not name.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import sys
import time
from pathlib import Path

from continual_ml.app.workers.celery_config import CELERY_QUEUE

TABLE_ATTEMPTS = 5
log = logging.getLogger(__name__)


def worker_argv(name: str, concurrency: int) -> list[str]:
    """The `celery worker` command line: one queue, one run per pool process at a time."""
    celery = str(Path(sys.executable).with_name("celery"))
    return [
        celery,
        "--app",
        "continual_ml.app.workers.celery_app",
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


def create_celery_tables() -> None:
    """Create the broker's and the result backend's tables (Celery's and the heartbeats') if
    missing, before Celery starts.

    Workers started together on a new database would each create them, and a worker that loses
    that race (Postgres: "relation ... already exists") exits; here the loser tries again and
    finds them made."""
    from sqlalchemy.exc import SQLAlchemyError

    from continual_ml.app.workers.celery_app import app
    from continual_ml.app.workers.heartbeats import create_table

    for attempt in range(1, TABLE_ATTEMPTS + 1):
        try:
            with app.connection_for_write() as connection:
                # kombu's SQLAlchemy transport creates its tables when a queue is declared.
                for queue in app.amqp.queues.values():
                    queue(connection.default_channel).declare()
            app.backend.ResultSession().close()
            create_table(app)
            return
        except SQLAlchemyError as error:
            if attempt == TABLE_ATTEMPTS:
                raise
            log.info("creating Celery's tables: %s; trying again", error)
            time.sleep(random.uniform(0.2, 1.0))


def exec_worker(name: str, concurrency: int, workdir: Path) -> None:
    """Become the worker, in `workdir` (created if missing)."""
    create_celery_tables()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    argv = worker_argv(name, concurrency)
    os.execv(argv[0], argv)
