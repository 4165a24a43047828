"""Work for people, not for the loop, run at a low CPU priority: a drift report's HTML render.

Linux keeps the nice value per thread, so the work runs in a thread of its own that lowers only
its own priority and ends with it: the process (a run's, or a worker's pool process that runs
many runs) keeps its priority, and no privilege is needed, as nothing is raised back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
NICENESS = 10  # the kernel's scheduler then gives it about a tenth of a normal thread's share


def at_low_priority(work: Callable[[], T], niceness: int = NICENESS) -> T:
    """`work()`'s result, computed in a thread `niceness` steps nicer than the caller's; its
    exception, re-raised here."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            lower_this_thread(niceness)
            outcome["value"] = work()
        except BaseException as error:  # handed to the caller, which decides
            outcome["error"] = error

    thread = threading.Thread(target=run, name="low-priority", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def lower_this_thread(niceness: int) -> None:
    """Add `niceness` to the calling thread's nice value (Linux: per thread; elsewhere, where
    `setpriority` on a thread id means nothing, nothing changes)."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except (AttributeError, OSError):  # no such call on this platform: the render runs as is
        pass
