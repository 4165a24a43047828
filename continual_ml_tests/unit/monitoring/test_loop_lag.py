"""Monitoring lag read from a real DuckDB warehouse, and the run queue's oldest wait."""

from datetime import UTC, date, datetime, timedelta

from continual_ml.monitoring.loop_lag import QueuedRun, monitoring_lag, queue_wait

DAY = date(2026, 3, 1)


def land(conn, days: list[date]) -> None:
    for day in days:
        conn.execute(
            "INSERT INTO observations (row_id, partition_date, event_time, batch_id) "
            "VALUES (?, ?, ?, 'b')",
            [f"r{day}", day, datetime.combine(day, datetime.min.time())],
        )


def test_an_empty_warehouse_has_no_lag(conn):
    lag = monitoring_lag(conn)
    assert (lag.newest_landed, lag.days) == (None, 0)


def test_every_landed_day_lags_while_none_is_measured(conn):
    land(conn, [DAY + timedelta(days=i) for i in range(5)])
    lag = monitoring_lag(conn)
    assert (lag.newest_landed, lag.newest_measured, lag.days) == (DAY + timedelta(4), None, 5)


def test_the_newest_drift_or_performance_measurement_counts(conn):
    land(conn, [DAY + timedelta(days=i) for i in range(10)])
    conn.execute("INSERT INTO drift_reports (partition_date) VALUES (?)", [DAY + timedelta(3)])
    assert monitoring_lag(conn).days == 6
    measured = DAY + timedelta(7)
    conn.execute("INSERT INTO performance_history (partition_date) VALUES (?)", [measured])
    lag = monitoring_lag(conn)
    assert (lag.newest_measured, lag.days) == (DAY + timedelta(7), 2)
    assert lag.describe() == "2 day(s): landed to 2026-03-10, measured to 2026-03-08"


def test_the_oldest_queued_run_gives_the_wait():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    runs = [
        QueuedRun("b", "retrain_job", now - timedelta(minutes=3)),
        QueuedRun("a", "monitoring_job", now - timedelta(minutes=20)),
    ]
    wait = queue_wait(runs, now)
    assert (wait.n_queued, wait.oldest.run_id, wait.oldest_wait_seconds) == (2, "a", 1200.0)
    assert "2 run(s) queued, the oldest for 20.0 min (monitoring_job" in wait.describe()
    assert queue_wait([], now).describe() == "no runs queued"
