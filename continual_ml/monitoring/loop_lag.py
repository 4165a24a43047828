"""How far behind the loop is: days landed but not yet measured, and runs waiting in the queue.

Monitoring lag is the newest landed day (a partition of `observations`) against the newest day
with a measurement (a drift report or a performance figure): a loop that keeps up measures each
day as it lands, so the lag is 0. With no measurement yet, every landed day counts. The queue
wait is the age of the oldest run still queued: how long some work has waited for a run slot.

>>> from datetime import date
>>> MonitoringLag(date(2026, 3, 10), date(2026, 3, 6), date(2026, 3, 1)).days
4
>>> MonitoringLag(date(2026, 3, 10), None, date(2026, 3, 1)).days
10
>>> MonitoringLag(None, None, None).days
0
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class MonitoringLag:
    newest_landed: date | None
    newest_measured: date | None
    oldest_landed: date | None

    @property
    def days(self) -> int:
        """Landed days beyond the newest measured one."""
        if self.newest_landed is None:
            return 0
        if self.newest_measured is None:
            return (self.newest_landed - self.oldest_landed).days + 1
        return max(0, (self.newest_landed - self.newest_measured).days)

    def describe(self) -> str:
        if self.newest_landed is None:
            return "no days landed yet"
        measured = self.newest_measured or "none yet"
        return f"{self.days} day(s): landed to {self.newest_landed}, measured to {measured}"


def monitoring_lag(landed: Iterable[date], measured: Iterable[date]) -> MonitoringLag:
    """The lag between the days landed and the days measured (each in any order).

    >>> d = date(2026, 3, 1)
    >>> monitoring_lag([d, date(2026, 3, 4)], [date(2026, 2, 27), d]).days
    3
    """
    landed, measured = sorted(landed), sorted(measured)
    if not landed:
        return MonitoringLag(None, measured[-1] if measured else None, None)
    return MonitoringLag(landed[-1], measured[-1] if measured else None, landed[0])


@dataclass(frozen=True)
class QueuedRun:
    run_id: str
    job_name: str
    queued_at: datetime  # when the run was created (submitted to the queue)


@dataclass(frozen=True)
class QueueWait:
    n_queued: int
    oldest: QueuedRun | None
    oldest_wait_seconds: float

    def describe(self) -> str:
        if self.oldest is None:
            return "no runs queued"
        minutes = self.oldest_wait_seconds / 60
        return (
            f"{self.n_queued} run(s) queued, the oldest for {minutes:.1f} min "
            f"({self.oldest.job_name}, run {self.oldest.run_id})"
        )


def queue_wait(queued: list[QueuedRun], now: datetime) -> QueueWait:
    """The queue's length and its oldest run's wait at `now` (timezone-aware, like the runs)."""
    if not queued:
        return QueueWait(0, None, 0.0)
    oldest = min(queued, key=lambda run: run.queued_at)
    return QueueWait(len(queued), oldest, max(0.0, (now - oldest.queued_at).total_seconds()))
