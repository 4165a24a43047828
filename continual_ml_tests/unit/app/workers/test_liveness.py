"""A worker's liveness file: touched after a broker round trip and a heartbeat, judged by its
age. (The heartbeat's own table is Postgres's: the worker tests write and read it for real.)"""

import os
import sqlite3
import time
from types import SimpleNamespace

from celery import Celery
from celery.utils.timer2 import Timer

from continual_ml.app.workers import heartbeats
from continual_ml.app.workers import liveness as worker_liveness
from continual_ml.app.workers.celery_config import CELERY_QUEUE
from continual_ml.app.workers.liveness import ALIVE_FILE, STALE_SECONDS, BrokerLiveness, is_alive


def test_a_fresh_file_is_alive_a_stale_or_missing_one_is_not(tmp_path):
    assert not is_alive(tmp_path)
    assert worker_liveness.main([str(tmp_path)]) == 1
    (tmp_path / ALIVE_FILE).touch()
    assert is_alive(tmp_path)
    assert worker_liveness.main([str(tmp_path)]) == 0
    old = time.time() - STALE_SECONDS - 5
    os.utime(tmp_path / ALIVE_FILE, (old, old))
    assert not is_alive(tmp_path)
    assert worker_liveness.main([str(tmp_path)]) == 1
    assert worker_liveness.main([]) == 2


def started_step(broker: str, folder, monkeypatch) -> tuple[BrokerLiveness, SimpleNamespace]:
    monkeypatch.chdir(folder)
    # The result backend on a SQLite file: the heartbeat's upsert is the same SQL as Postgres's.
    app = Celery(broker=broker, backend=f"db+sqlite:///{folder / 'results.db'}")
    heartbeats.create_table(app)
    if broker == "memory://":
        # The worker declares its queue before it consumes (continual_ml/app/workers/command.py).
        with app.connection_for_write() as connection:
            connection.default_channel.queue_declare(queue=CELERY_QUEUE)
    parent = SimpleNamespace(app=app, timer=Timer(), hostname="worker-a@host")
    step = BrokerLiveness(parent)
    step.start(parent)
    return step, parent


def beats(folder) -> list[tuple]:
    with sqlite3.connect(folder / "results.db") as db:
        return db.execute(f"SELECT hostname, booted_at FROM {heartbeats.TABLE}").fetchall()


def test_the_step_beats_and_touches_the_file_after_a_broker_round_trip(tmp_path, monkeypatch):
    step, parent = started_step("memory://", tmp_path, monkeypatch)
    try:
        assert is_alive(tmp_path)
        assert step.timer_entry is not None
        [(hostname, booted_at)] = beats(tmp_path)
        assert hostname == "worker-a@host"
        assert booted_at == step.booted_at
    finally:
        step.stop(parent)
        parent.timer.stop()
    assert step.timer_entry is None


def test_a_broker_out_of_reach_leaves_no_file(tmp_path, monkeypatch):
    # A closed port on loopback: the connection is refused at once.
    step, parent = started_step("amqp://guest:guest@127.0.0.1:9//", tmp_path, monkeypatch)
    try:
        assert not (tmp_path / ALIVE_FILE).exists()
        assert beats(tmp_path) == []
    finally:
        step.stop(parent)
        parent.timer.stop()


def test_the_worker_app_runs_the_step(monkeypatch):
    monkeypatch.setenv("CONTINUAL_ML_CELERY_BROKER_URL", "memory://")
    monkeypatch.setenv("CONTINUAL_ML_CELERY_BACKEND_URL", "cache+memory://")
    from continual_ml.app.workers.celery_app import app

    assert BrokerLiveness in app.steps["consumer"]
    # The tasks dagster-celery's run launcher sends, and no step task: runs go whole.
    assert {"execute_job", "resume_job"} <= set(app.tasks)
    assert "execute_plan" not in app.tasks
