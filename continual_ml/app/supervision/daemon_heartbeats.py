"""Whether the Dagster daemon is working, from its heartbeats rather than its process.

Each of the daemon's threads (sensors, run queue, run monitoring, retries...) writes a heartbeat
to the instance every 30 s (`DagsterInstance.get_daemon_heartbeats()` reads them), so the newest
is seldom more than 30 s old while the daemon works. A daemon whose process is there but whose
threads are stuck writes none: after `kill -STOP` of the daemon for 90 s the UI still called it
healthy with a 92 s old heartbeat (Dagster's own tolerance is 1,800 s), and nothing ticked.

A daemon that started less than `stale_seconds` ago is given that long for its first heartbeat:
the age counts from its start when that is newer than the newest heartbeat.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from continual_ml.app.supervision.disk_space import FULL_BYTES

# Twice the heartbeat interval would misjudge a loaded machine's slow loop less, but a hang is to
# be noticed within a minute: the supervisor's three checks 5 s apart come on top.
STALE_SECONDS = 45.0


def newest_heartbeat(instance: dg.DagsterInstance) -> float | None:
    """The Unix time of the daemon's newest heartbeat, of any of its threads; None if none."""
    beats = instance.get_daemon_heartbeats().values()
    return max((beat.timestamp for beat in beats), default=None)


class DaemonHeartbeats:
    """`fresh(started_at)`: the newest heartbeat, or the daemon's start, is recent enough."""

    def __init__(
        self,
        dagster_home: Path,
        stale_seconds: float = STALE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dagster_home, self.stale_seconds, self.clock = dagster_home, stale_seconds, clock
        self._instance: dg.DagsterInstance | None = None

    def age(self, started_at: float | None) -> float | None:
        """Seconds since the newest heartbeat or the daemon's start, whichever is newer."""
        if self._instance is None:
            self._instance = dg.DagsterInstance.from_config(str(self.dagster_home))
        newest = max(
            (t for t in (newest_heartbeat(self._instance), started_at) if t is not None),
            default=None,
        )
        return None if newest is None else self.clock() - newest

    def fresh(self, started_at: float | None) -> bool:
        try:
            if shutil.disk_usage(self.dagster_home).free < FULL_BYTES:
                return True  # no heartbeat can be written to a full disk: no sign of a hang
            age = self.age(started_at)
        except Exception:  # storage busy or unreadable: that says nothing about the daemon
            return True
        return age is None or age < self.stale_seconds
