import os
import sys
import threading

import pytest

from continual_ml.monitoring.low_priority import NICENESS, at_low_priority

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values: Linux")


def _my_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@linux_only
def test_the_work_runs_nicer_and_the_caller_keeps_its_priority():
    before = _my_nice()
    inside = at_low_priority(_my_nice)
    assert inside == min(before + NICENESS, 19)
    assert _my_nice() == before  # this thread, and so this process's other work, unchanged
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) == before


def test_the_result_and_the_error_reach_the_caller():
    assert at_low_priority(lambda: 42) == 42

    def fails():
        raise ValueError("no rows")

    with pytest.raises(ValueError, match="no rows"):
        at_low_priority(fails)
