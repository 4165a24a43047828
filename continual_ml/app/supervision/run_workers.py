"""Runs whose worker process is gone, marked failed so that run retries take over.

Dagster's run monitoring notices a dead run worker only through the run launcher's health check,
which `DefaultRunLauncher` (the embedded default's) does not have: a run whose worker was killed
(`kill -9`, the OOM killer, a crash of `up` that took its processes down) stayed STARTED for
good, holding one of the two run slots, and the queue stopped once both were held.

Every run worker records its pid when it starts: the run's engine event "Started process for
run (pid: N)", with the pid in its metadata, written before the run becomes STARTED. A STARTED
run whose recorded process is no longer running (gone, a zombie, or the pid now naming a process
started later) can never finish: it is reported failed with `DagsterInstance.report_run_failed`,
like Dagster's run monitoring reports a worker it found dead, and the daemon's run retries
(`run_retries` in the instance's dagster.yaml) launch it again, as for any crashed worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from continual_ml.app.supervision import process_table
from continual_ml.app.supervision.pacing import Pace

STARTED_PROCESS = "Started process for run"
# /proc gives the boot time to the second: a process started up to this long after its pid was
# recorded is still taken for the recorded one. A pid is reused seconds later only on a machine
# that starts tens of thousands of processes a second.
CLOCK_SLACK_SECONDS = 2.0


@dataclass(frozen=True)
class RunWorker:
    pid: int
    recorded_at: float  # Unix time of the engine event that recorded the pid

    def gone(self) -> bool:
        """The process is no longer running, or its pid now names a process started later."""
        started = process_table.started_at(self.pid)
        if started is None or not process_table.running(self.pid):
            return True
        return started > self.recorded_at + CLOCK_SLACK_SECONDS


def run_worker(instance: dg.DagsterInstance, run_id: str) -> RunWorker | None:
    """The process the run's worker recorded, the newest if it started more than once; None for
    a run executed in another way (in process, with no such event)."""
    entries = instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    for entry in reversed(entries):
        event = entry.dagster_event
        if event is None or not (event.message or "").startswith(STARTED_PROCESS):
            continue
        pid = event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return RunWorker(int(pid.value), entry.timestamp)
    return None


def fail_runs_without_workers(instance: dg.DagsterInstance) -> list[tuple[dg.DagsterRun, int]]:
    """Report failed every STARTED run whose worker is gone; the runs and their dead pids."""
    failed = []
    started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
    for record in instance.get_run_records(started):
        run_id = record.dagster_run.run_id
        worker = run_worker(instance, run_id)
        if worker is None or not worker.gone():
            continue
        # Read again once the worker is known dead: a worker that finished meanwhile recorded
        # the run's end before it exited, and a dead one can record nothing more.
        run = instance.get_run_by_id(run_id)
        if run is None or run.status != dg.DagsterRunStatus.STARTED:
            continue
        instance.report_run_failed(
            run,
            f"The run worker (pid {worker.pid}) is gone without recording the end of this run "
            "(killed, or the live system crashed); marked failed by continual-ml up so that "
            "run retries take over.",
        )
        failed.append((run, worker.pid))
    return failed


class RunWorkerWatch:
    """`check()`, called often, looks for runs without workers every `interval_seconds`;
    `say` hears of each run it fails and of a look that could not be made.

    Only while `code_server_answers()`: the daemon retries a failed run at once, through the code
    server, and a retry that cannot reach it is given up for good ("Failed to retry run", the
    run tagged not to retry). A worker that died with its code server (measured: the retry of
    a run failed 1 s after its gRPC server was killed was lost) waits for the new server.
    """

    def __init__(
        self,
        instance: dg.DagsterInstance,
        say: Callable[[str], None],
        code_server_answers: Callable[[], bool] = lambda: True,
        interval_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.instance, self.say, self.code_server_answers = instance, say, code_server_answers
        self.pace = Pace(interval_seconds, clock)
        self.failed_runs = 0

    def check(self) -> None:
        if not self.pace.due():
            return
        if not self.code_server_answers():
            self.pace.again_in(2.0)  # soon after the supervisor has it back
            return
        try:
            failed = fail_runs_without_workers(self.instance)
        except Exception as error:  # a busy or full storage: look again next time
            self.say(f"run workers: could not look for dead run workers ({error!r})")
            return
        for run, pid in failed:
            self.failed_runs += 1
            self.say(
                f"run workers: {run.job_name} run {run.run_id[:8]} lost its worker (pid {pid}); "
                "marked failed, run retries take over"
            )
