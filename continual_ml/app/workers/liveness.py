"""A worker's liveness: its heartbeat, by which the run launcher judges the worker's runs, and
a file for a container health check.

The worker's consumer starts the step below once its broker connection is up, and stops it when
the connection is lost; while started, every `TOUCH_SECONDS` it makes a round trip to the broker
on a connection of its own (the size of the runs' queue), records the worker's heartbeat in the
result backend's database (continual_ml/app/workers/heartbeats.py), and touches `alive` in the
worker's folder. A worker whose process is gone, whose consumer lost the broker, or that cannot
reach the broker or the result backend lets both age: the launcher fails its run once the
heartbeat is older than `STALE_SECONDS`, and `python -m continual_ml.app.workers.liveness DIR`
fails once the file is. The remote-control ping (`celery inspect ping`) needs a broadcast the
SQLAlchemy broker cannot carry, so it is off (continual_ml/app/workers/celery_config.py).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from celery import bootsteps

from continual_ml.app.workers.celery_config import CELERY_QUEUE
from continual_ml.app.workers.heartbeats import record_heartbeat

ALIVE_FILE = "alive"
TOUCH_SECONDS = 10.0
# Three missed touches: a slow broker round trip on a loaded machine is not a dead worker.
STALE_SECONDS = 3 * TOUCH_SECONDS
log = logging.getLogger(__name__)


def touch(path: Path) -> None:
    path.touch()


class BrokerLiveness(bootsteps.StartStopStep):
    """Records the worker's heartbeat and touches `alive` in its folder while the consumer is
    connected to the broker."""

    requires = {"celery.worker.consumer.connection:Connection"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.timer_entry = None
        self.path = Path.cwd() / ALIVE_FILE
        # This machine's clock, as the runs this worker executes date their start.
        self.booted_at = time.time()

    def start(self, parent) -> None:
        app, hostname, booted_at = parent.app, parent.hostname, self.booted_at
        path = self.path

        def beat() -> None:
            # A broker round trip on a connection of this step's own: the consumer's connection
            # belongs to the consumer's thread. A broker out of reach leaves the file to age.
            try:
                with app.connection_for_read() as connection:
                    connection.ensure_connection(max_retries=1, interval_start=0, timeout=5)
                    # Counting the queue's messages is a query on the SQLAlchemy broker (opening
                    # the connection alone touches no database); passive: changes nothing.
                    connection.default_channel.queue_declare(queue=CELERY_QUEUE, passive=True)
                record_heartbeat(app, hostname, booted_at)
            except Exception as error:  # noqa: BLE001 - any failure means: not alive now
                log.warning("broker or result backend out of reach: %s", error)
                return
            touch(path)

        beat()
        self.timer_entry = parent.timer.call_repeatedly(TOUCH_SECONDS, beat)

    def stop(self, parent) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop


def is_alive(folder: Path, now: float | None = None, stale_seconds: float = STALE_SECONDS) -> bool:
    """Whether the worker working in `folder` touched its file within `stale_seconds`."""
    path = folder / ALIVE_FILE
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age <= stale_seconds


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m continual_ml.app.workers.liveness WORKER_FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    if is_alive(folder):
        return 0
    print(f"worker in {folder}: no broker round trip in {STALE_SECONDS:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
