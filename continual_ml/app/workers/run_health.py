"""Whether a run's worker still executes it, from what the broker's side can see: the state of
the run's Celery task and the heartbeat of the worker that took it.

A worker lost whole (machine gone, its process group killed) reports nothing: its task stays
STARTED in the result backend for good, and the SQLAlchemy broker never delivers it again. Its
heartbeat stops, though, and a worker started again under the same name beats with a newer boot
time than the task's start. A pool process killed under a live worker is reported by Celery
itself: the task turns FAILURE (WorkerLostError).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from continual_ml.app.workers.heartbeats import Heartbeat


class RunWorker(Enum):
    """As Dagster's `WorkerStatus`, whose names these are."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class RunWorkerHealth:
    status: RunWorker
    reason: str


def run_worker_health(
    task_state: str,
    worker: str | None,
    run_started_at: float | None,
    heartbeat: Heartbeat | None,
    stale_seconds: float,
) -> RunWorkerHealth:
    """The run's worker, judged from its task's state, the worker that started the task (its
    hostname), when the run started (seconds since the epoch, by that worker's clock: the run's
    RUN_START) and that worker's newest heartbeat."""
    if task_state == "SUCCESS":
        return RunWorkerHealth(RunWorker.SUCCESS, "the run's task ended")
    if task_state in ("FAILURE", "REVOKED"):
        return RunWorkerHealth(RunWorker.FAILED, f"the run's task ended {task_state}")
    if task_state != "STARTED":
        # PENDING (also what an unknown task reads as), RECEIVED, RETRY: as dagster-celery says.
        return RunWorkerHealth(RunWorker.UNKNOWN, f"the run's task is {task_state}")
    if heartbeat is None:
        return RunWorkerHealth(RunWorker.FAILED, f"worker {worker} has never sent a heartbeat")
    if run_started_at is not None and heartbeat.booted_at > run_started_at:
        return RunWorkerHealth(
            RunWorker.FAILED, f"worker {worker} started again after it started the run"
        )
    if heartbeat.age_seconds > stale_seconds:
        return RunWorkerHealth(
            RunWorker.FAILED,
            f"worker {worker}: no heartbeat for {heartbeat.age_seconds:.0f} s"
            f" (lost after {stale_seconds:.0f} s)",
        )
    return RunWorkerHealth(RunWorker.RUNNING, f"worker {worker} is alive")
