"""No orphans: every process `up` starts ends with it, however `up` ends, `kill -9` included.

`mark_this_process()` puts a mark (`CONTINUAL_ML_UP_ID=<random>`) in `up`'s own environment
before it starts anything, so every process it starts and every process those start inherit it:
the code server's gRPC child and its run workers, the daemon, BentoML's workers (each in a session
of its own), MLflow's. `start_reaper()` then starts this module as a watcher in a session of its
own, outside `up`'s process group, so a signal to the group spares it. It waits for `up` to end
and ends every marked process: SIGTERM (with SIGCONT, so a stopped one acts on it), so a run
worker records its run's failure and DuckDB closes its file; SIGKILL for what is left after
`grace_seconds`. Then it exits.

`PR_SET_PDEATHSIG` (`child_processes.with_parent`) reached only the direct children: killing `up`
outright left the code server's gRPC child and the run workers running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from continual_ml.app.supervision import process_table

MARK = "CONTINUAL_ML_UP_ID"
# The watcher needs neither: without the home, `up`'s helpers and the tests that list a home's
# processes do not count it, and it ends by itself once `up` has.
NOT_INHERITED = (MARK, "CONTINUAL_ML_HOME")


def mark_this_process() -> str:
    """Mark this process's environment, inherited by all it starts; the mark ("NAME=value")."""
    value = uuid.uuid4().hex
    os.environ[MARK] = value
    return f"{MARK}={value}"


def start_reaper(mark: str, grace_seconds: float = 10.0) -> subprocess.Popen:
    """The watcher that ends every process carrying `mark` once this process has ended."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    command = [sys.executable, "-m", __name__, str(os.getpid()), mark, str(grace_seconds)]
    return subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _send(pids: list[int], *signals: signal.Signals) -> None:
    for pid in pids:
        for sig in signals:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                break


def end_marked(mark: str, grace_seconds: float) -> list[int]:
    """End every process carrying `mark`, gently then not; the pids found."""
    found = [p for p in process_table.processes_with_env(mark) if p != os.getpid()]
    _send(found, signal.SIGTERM, signal.SIGCONT)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(process_table.running(p) for p in found):
        time.sleep(0.2)
    # Again, until none is left: a process may have started another while it was stopping.
    for _ in range(5):
        left = [p for p in process_table.processes_with_env(mark) if p != os.getpid()]
        left = [p for p in left if process_table.running(p)]
        if not left:
            break
        found += [p for p in left if p not in found]
        _send(left, signal.SIGKILL)
        time.sleep(0.2)
    return found


def main(argv: list[str]) -> None:
    parent, mark, grace_seconds = int(argv[0]), argv[1], float(argv[2])
    # SIGTERM to `up`'s process group does not reach this session; a terminal's hangup is moot.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while os.getppid() == parent:  # reparented once `up` is gone, however it ended
        time.sleep(0.5)
    end_marked(mark, grace_seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
