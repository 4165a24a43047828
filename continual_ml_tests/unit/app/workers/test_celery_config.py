"""The scale-out profile's Celery settings, the same on the launcher's side and the workers'."""

import pytest

from continual_ml.app.workers.celery_config import CELERY_QUEUE, celery_app_args
from continual_ml.app.workers.command import worker_argv
from continual_ml.settings import Settings

URLS = {
    "CONTINUAL_ML_CELERY_BROKER_URL": "sqla+postgresql+psycopg2://u:secret@db:5432/dagster",
    "CONTINUAL_ML_CELERY_BACKEND_URL": "db+postgresql+psycopg2://u:secret@db:5432/dagster",
}


def test_workers_take_one_run_at_a_time_and_acknowledge_it_at_the_end():
    args = celery_app_args(Settings.from_env(URLS))
    assert args["broker"].startswith("sqla+postgresql")
    assert args["config_source"]["task_acks_late"] is True
    assert args["config_source"]["worker_prefetch_multiplier"] == 1
    argv = worker_argv("worker-a", 1)
    assert argv[argv.index("--queues") + 1] == CELERY_QUEUE
    assert argv[argv.index("--concurrency") + 1] == "1"
    assert argv[argv.index("--hostname") + 1].startswith("worker-a@")


def test_workers_without_the_urls_refuse_to_start():
    with pytest.raises(ValueError, match="CONTINUAL_ML_CELERY_BROKER_URL"):
        celery_app_args(Settings.from_env({}))


def test_the_launcher_sends_runs_with_the_workers_settings_and_never_resumes():
    from continual_ml.app.workers.launcher import WorkerRunLauncher

    # As the instance file configures it: the two URLs only.
    launcher = WorkerRunLauncher(broker="memory://", backend="cache+memory://")
    assert launcher.default_queue == CELERY_QUEUE
    assert launcher.celery.conf.task_acks_late is True
    assert launcher.celery.conf.worker_prefetch_multiplier == 1
    # A lost worker's run fails and is retried; dagster-celery 0.29's resume is broken.
    assert not launcher.supports_resume_run and launcher.supports_check_run_worker_health
