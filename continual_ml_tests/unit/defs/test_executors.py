"""CONTINUAL_ML_EXECUTOR picks where steps execute; the default stays in-process."""

import dagster as dg
import pytest

from continual_ml.app.worker import worker_argv
from continual_ml.defs.executors import CELERY_QUEUE, build_executor, celery_app_args
from continual_ml.settings import Settings

URLS = {
    "CONTINUAL_ML_CELERY_BROKER_URL": "sqla+postgresql+psycopg2://u:secret@db:5432/dagster",
    "CONTINUAL_ML_CELERY_BACKEND_URL": "db+postgresql+psycopg2://u:secret@db:5432/dagster",
}


def test_the_default_executes_steps_in_the_runs_own_process():
    assert build_executor(Settings.from_env({})) is dg.in_process_executor


def test_celery_is_chosen_by_the_setting_and_reads_its_urls_by_name(monkeypatch):
    executor = build_executor(Settings.from_env({"CONTINUAL_ML_EXECUTOR": "celery", **URLS}))
    assert executor.name == "celery"
    # Bound by variable name, read where the run starts: never written into a run's config.
    monkeypatch.setenv("CONTINUAL_ML_CELERY_BROKER_URL", "sqla+postgresql://elsewhere/db")
    monkeypatch.setenv("CONTINUAL_ML_CELERY_BACKEND_URL", "db+postgresql://elsewhere/db")
    config = executor.config_schema.resolve_config({}).value["config"]
    assert (config["broker"], config["backend"]) == (
        "sqla+postgresql://elsewhere/db",
        "db+postgresql://elsewhere/db",
    )


def test_celery_without_its_urls_fails_when_the_code_loads():
    with pytest.raises(ValueError, match="CONTINUAL_ML_CELERY_BROKER_URL"):
        build_executor(Settings.from_env({"CONTINUAL_ML_EXECUTOR": "celery"}))


def test_workers_take_one_step_at_a_time_and_acknowledge_it_at_the_end():
    args = celery_app_args(Settings.from_env(URLS))
    assert args["broker"].startswith("sqla+postgresql")
    assert args["config_source"]["task_acks_late"] is True
    assert args["config_source"]["worker_prefetch_multiplier"] == 1
    argv = worker_argv("worker-a", 1)
    assert argv[argv.index("--queues") + 1] == CELERY_QUEUE
    assert argv[argv.index("--concurrency") + 1] == "1"
    assert argv[argv.index("--hostname") + 1].startswith("worker-a@")


def test_promotion_shares_the_files_pool_and_has_its_own_on_ducklake(monkeypatch):
    from continual_ml.defs.partitions import PROMOTION_POOL, WAREHOUSE_POOL, promotion_pool
    from continual_ml.defs.training.assets import champion_model

    # The DuckDB file has one writer: promotion waits for per-day steps and they for it.
    monkeypatch.delenv("CONTINUAL_ML_WAREHOUSE_BACKEND", raising=False)
    assert promotion_pool() == WAREHOUSE_POOL == champion_model.op.pool
    # DuckLake takes many writers: per-day steps go N wide, champion changes stay one at a time.
    monkeypatch.setenv("CONTINUAL_ML_WAREHOUSE_BACKEND", "ducklake")
    assert promotion_pool() == PROMOTION_POOL != WAREHOUSE_POOL
