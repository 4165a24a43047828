"""Where a run's steps execute: in the run's own process (the default), or on Celery workers.

`CONTINUAL_ML_EXECUTOR=celery` selects `dagster-celery`'s executor: the run process (launched by
the instance's run launcher, as before) claims each step's pool slot and sends the step to the
broker; a worker (`continual-ml worker`, on any machine that reaches Postgres, the warehouse and
MLflow) takes it, executes it and writes its events to the instance's Postgres storage. The
broker and result backend are Postgres tables through SQLAlchemy (`sqla+postgresql+psycopg2://…`
and `db+postgresql+psycopg2://…`), so the profile needs no server beyond the ones it has.
"""

from __future__ import annotations

import dagster as dg

from continual_ml.settings import CELERY_BACKEND_ENV, CELERY_BROKER_ENV, Settings

CELERY_QUEUE = "dagster"  # dagster-celery's queue, the only one its app declares
# The same in the runs, which send steps, and in the workers, which take them.
CELERY_CONFIG_SOURCE = {
    # A worker reserves no step beyond the one it executes (acknowledged when it ends), so a
    # step waits in the broker for whichever worker is free, never behind a busy one.
    "worker_prefetch_multiplier": 1,
    "task_acks_late": True,
    "broker_connection_retry_on_startup": True,
    # Broadcast (remote control, events) needs a fanout the SQLAlchemy transport does not have.
    "worker_enable_remote_control": False,
    "worker_send_task_events": False,
}


def celery_app_args(settings: Settings) -> dict:
    """dagster-celery's Celery app arguments from the settings (the workers' side)."""
    if settings.celery_broker_url is None or settings.celery_backend_url is None:
        raise ValueError(
            f"runs on workers need {CELERY_BROKER_ENV} and {CELERY_BACKEND_ENV}, e.g. "
            "sqla+postgresql+psycopg2://USER:PASSWORD@HOST:5432/DB and "
            "db+postgresql+psycopg2://USER:PASSWORD@HOST:5432/DB"
        )
    return {
        "broker": Settings.secret(settings.celery_broker_url),
        "backend": Settings.secret(settings.celery_backend_url),
        "include": [],
        "config_source": CELERY_CONFIG_SOURCE,
    }


def build_executor(settings: Settings | None = None) -> dg.ExecutorDefinition:
    """The executor `CONTINUAL_ML_EXECUTOR` names; `in_process` (the default) or `celery`."""
    settings = settings or Settings.from_env()
    if settings.executor == "in_process":
        # One process per run: the steps that write DuckDB run one after another.
        return dg.in_process_executor
    from dagster_celery import celery_executor

    celery_app_args(settings)  # a missing URL fails when the code loads, not in the first run
    # By name: the URLs (with their password) are read where the run starts, never in its config.
    return celery_executor.configured(
        {
            "broker": {"env": CELERY_BROKER_ENV},
            "backend": {"env": CELERY_BACKEND_ENV},
            "config_source": CELERY_CONFIG_SOURCE,
        },
        name="celery",
    )
