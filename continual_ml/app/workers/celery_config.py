"""The Celery app's settings, the same on both sides of the broker: the run launcher (in the
daemon, webserver and code server) that sends runs, and the workers that execute them.

The broker and result backend are Postgres tables through SQLAlchemy
(`sqla+postgresql+psycopg2://…` and `db+postgresql+psycopg2://…`), so the profile needs no server
beyond the ones it has.
"""

from __future__ import annotations

from continual_ml.settings import CELERY_BACKEND_ENV, CELERY_BROKER_ENV, Settings

CELERY_QUEUE = "dagster"  # dagster-celery's queue, the only one its app declares
CELERY_CONFIG_SOURCE = {
    # A worker reserves no run beyond the one it executes (acknowledged when it ends), so a run
    # waits in the broker for whichever worker is free, never behind a busy one.
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
