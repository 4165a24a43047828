"""Disk pressure as a state of the live system, not a crash: the home's free space, watched.

Three states: `ok`; `low` (less free than the warning threshold, `CONTINUAL_ML_DISK_WARN_FREE_MB`):
said and alerted before anything fails; `full` (less than `FULL_BYTES`, where writes start to fail):
the service refuses predictions it cannot log, runs fail and retry, `up` keeps running. Each change
of state is told once (`notify(state, text)`), the return to `ok` too, and `summary()` is what
`status` shows. With a full disk a write may fail anywhere: nothing here writes to it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from continual_ml.app.supervision.pacing import Pace

MB = 1024 * 1024
# Below this a run's DuckDB checkpoint or a log rotation fails: counted as full.
FULL_BYTES = 16 * MB


def disk_state(free_bytes: int, warn_below_bytes: int) -> str:
    """`full`, `low` or `ok`.

    >>> [disk_state(f * MB, 500 * MB) for f in (1, 100, 800)]
    ['full', 'low', 'ok']
    """
    if free_bytes < FULL_BYTES:
        return "full"
    return "low" if free_bytes < warn_below_bytes else "ok"


class DiskSpace:
    """`check()`, called often, looks at the free space of `path`'s disk every
    `interval_seconds` and calls `notify(state, text)` when the state changes."""

    def __init__(
        self,
        path: Path,
        warn_below_bytes: int,
        notify: Callable[[str, str], None],
        interval_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path, self.warn_below_bytes, self.notify = path, warn_below_bytes, notify
        self.pace = Pace(interval_seconds, clock)
        self.state, self.free_bytes, self.total_bytes = "ok", None, None

    def check(self) -> None:
        if not self.pace.due():
            return
        usage = shutil.disk_usage(self.path)
        self.free_bytes, self.total_bytes = usage.free, usage.total
        state = disk_state(usage.free, self.warn_below_bytes)
        if state != self.state:
            self.state = state
            self.notify(state, self.describe())

    def describe(self) -> str:
        free, total = (self.free_bytes or 0) / MB, (self.total_bytes or 0) / MB
        text = f"{free:,.0f} MB free of {total:,.0f} MB at {self.path}"
        return {
            "full": f"{text}: the disk is full; the service refuses predictions it cannot log "
            "and runs fail until there is room, then everything resumes",
            "low": f"{text}, below the {self.warn_below_bytes / MB:,.0f} MB warning threshold",
            "ok": f"{text}: room again",
        }[self.state]

    def summary(self) -> dict:
        return {
            "state": self.state,
            "free_bytes": self.free_bytes,
            "total_bytes": self.total_bytes,
            "warn_below_bytes": self.warn_below_bytes,
        }
