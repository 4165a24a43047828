"""Monitoring lag from the days landed and measured, and the run queue's oldest wait."""

from datetime import UTC, date, datetime, timedelta

from continual_ml.monitoring.loop_lag import QueuedRun, monitoring_lag, queue_wait

DAY = date(2026, 3, 1)


def days(*offsets: int) -> list[date]:
    return [DAY + timedelta(days=offset) for offset in offsets]


def test_nothing_landed_is_no_lag():
    lag = monitoring_lag([], days(0))
    assert (lag.newest_landed, lag.days) == (None, 0)
    assert lag.describe() == "no days landed yet"


def test_every_landed_day_lags_while_none_is_measured():
    lag = monitoring_lag(days(4, 0, 2, 1, 3), [])
    assert (lag.newest_landed, lag.newest_measured, lag.days) == (DAY + timedelta(4), None, 5)
    assert lag.describe() == "5 day(s): landed to 2026-03-05, measured to none yet"


def test_the_newest_measured_day_counts_in_whatever_order():
    lag = monitoring_lag(days(*range(10)), days(7, 3, 0))
    assert (lag.newest_measured, lag.days) == (DAY + timedelta(7), 2)
    assert lag.describe() == "2 day(s): landed to 2026-03-10, measured to 2026-03-08"
    assert monitoring_lag(days(3), days(5)).days == 0  # measured ahead (a day redone): no lag


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
