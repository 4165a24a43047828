"""Each worker's heartbeat: a row in the result backend's Postgres database, one per worker
hostname, written by the worker's main process every few seconds and read by the run launcher.

Two times per row, each compared only with times from the same clock: `beat_at` is the
database's clock (its age is measured there, so no two machines' clocks meet), and `booted_at`
is the worker's own clock (seconds since the epoch), as the runs that worker executes date their
start (Dagster's RUN_START, written by the run's process on the worker).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text

TABLE = "continual_ml_worker_heartbeats"


@dataclass(frozen=True)
class Heartbeat:
    """A worker's newest heartbeat: when its process started, and how old the beat is."""

    booted_at: float  # seconds since the epoch, by the worker's clock
    age_seconds: float


@contextmanager
def _session(app) -> Iterator:
    """A session on the result backend's database (Celery's `db+` backend), committed at the end."""
    session = app.backend.ResultSession()
    try:
        yield session
        session.commit()
    finally:
        session.close()


def create_table(app) -> None:
    """The table, if missing (the workers create it, beside Celery's own)."""
    with _session(app) as session:
        session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                " hostname text PRIMARY KEY, booted_at double precision NOT NULL,"
                " beat_at timestamptz NOT NULL)"
            )
        )


def record_heartbeat(app, hostname: str, booted_at: float) -> None:
    with _session(app) as session:
        session.execute(
            text(
                f"INSERT INTO {TABLE} (hostname, booted_at, beat_at)"
                " VALUES (:hostname, :booted_at, CURRENT_TIMESTAMP)"
                " ON CONFLICT (hostname) DO UPDATE"
                " SET booted_at = EXCLUDED.booted_at, beat_at = EXCLUDED.beat_at"
            ),
            {"hostname": hostname, "booted_at": booted_at},
        )


def read_heartbeat(app, hostname: str) -> Heartbeat | None:
    with _session(app) as session:
        rows = session.execute(
            text(
                f"SELECT booted_at, EXTRACT(EPOCH FROM CURRENT_TIMESTAMP - beat_at) FROM {TABLE}"
                " WHERE hostname = :hostname"
            ),
            {"hostname": hostname},
        ).fetchall()
    return Heartbeat(float(rows[0][0]), float(rows[0][1])) if rows else None
