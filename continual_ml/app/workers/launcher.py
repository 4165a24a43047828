"""The scale-out profile's run launcher: dagster-celery's `CeleryRunLauncher`, which sends each
run whole to the broker for a worker to execute, with the run's worker judged by its heartbeat.

Configured in the instance file (docs/dagster-workers.yaml) as
`{module: continual_ml.app.workers.launcher, class: WorkerRunLauncher}`, the broker and result
backend named by environment variable (never written into the file, the run or the instance
reference the run carries). Two things differ from dagster-celery's launcher:

- `check_run_worker_health` answers FAILED for a run whose worker stopped beating for
  `STALE_SECONDS` or started again since it took the run (continual_ml/app/workers/run_health.py),
  where dagster-celery's answers RUNNING for as long as the task reads STARTED, which for a lost
  worker is for good. The monitoring daemon then fails the run, and `run_retries` runs it again.
- No resume: a lost worker's run fails and is retried from its failed steps, a new run with its
  own task (dagster-celery 0.29's resume sends its task an argument the task does not take).
"""

from __future__ import annotations

from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from continual_ml.app.supervision.dagster_internals import run_worker_health_result
from continual_ml.app.workers.celery_config import CELERY_CONFIG_SOURCE, CELERY_QUEUE
from continual_ml.app.workers.heartbeats import read_heartbeat
from continual_ml.app.workers.liveness import STALE_SECONDS
from continual_ml.app.workers.run_health import run_worker_health


class WorkerRunLauncher(CeleryRunLauncher):
    """Runs, whole, on `continual-ml worker`s; a run whose worker is lost fails."""

    def __init__(
        self,
        default_queue: str = CELERY_QUEUE,
        broker: str | None = None,
        backend: str | None = None,
        include: list[str] | None = None,
        config_source: dict | None = None,
        inst_data=None,
    ) -> None:
        # The workers' settings (continual_ml/app/workers/celery_config.py), unless the file
        # says otherwise.
        super().__init__(
            default_queue,
            broker=broker,
            backend=backend,
            include=include,
            config_source={**CELERY_CONFIG_SOURCE, **(config_source or {})},
            inst_data=inst_data,
        )

    @property
    def supports_resume_run(self) -> bool:
        return False

    def check_run_worker_health(self, run):
        task = self.celery.AsyncResult(run.tags[DAGSTER_CELERY_TASK_ID_TAG])
        state, worker, started_at, heartbeat = task.state, None, None, None
        if state == "STARTED":
            # The worker that took the task (recorded by it: `track_started`), and when the run
            # started by that worker's clock (Celery dates a started task with no time).
            worker = (task.info or {}).get("hostname")
            record = self._instance.get_run_record_by_id(run.run_id)
            started_at = record.start_time if record else None
            heartbeat = read_heartbeat(self.celery, worker) if worker else None
        health = run_worker_health(state, worker, started_at, heartbeat, STALE_SECONDS)
        return run_worker_health_result(health.status.value, health.reason)
