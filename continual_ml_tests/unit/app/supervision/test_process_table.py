"""/proc as the supervisor reads it, on this very process (no other process is started)."""

import os
import time

from continual_ml.app.supervision import process_table
from continual_ml.app.supervision.run_workers import CLOCK_SLACK_SECONDS, RunWorker


def test_this_process_is_running_not_stopped_and_started_before_now():
    pid = os.getpid()
    assert process_table.running(pid) and not process_table.stopped(pid)
    started = process_table.started_at(pid)
    assert started is not None and started <= time.time()


def test_a_recorded_run_worker_is_gone_when_its_pid_names_a_later_process():
    pid = os.getpid()
    started = process_table.started_at(pid)
    assert not RunWorker(pid, recorded_at=started + 5).gone()  # recorded after it started
    # Recorded long before this process started: the pid was reused, the worker is gone.
    assert RunWorker(pid, recorded_at=started - 10 * CLOCK_SLACK_SECONDS).gone()


def test_a_pid_no_process_has_is_gone():
    unused = max(int(p.name) for p in process_table.PROC.iterdir() if p.name.isdigit()) + 10_000
    assert process_table.state(unused) is None
    assert RunWorker(unused, recorded_at=time.time()).gone()
