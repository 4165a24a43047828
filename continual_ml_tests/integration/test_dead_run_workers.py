"""No run stays STARTED after its process is gone, on the embedded default (`continual-ml up`).

`kill -9` of a run worker mid-run: the run is marked failed within a bound and run retries launch
it again, whether the code server that launched it is there to notice (Dagster's gRPC server
reports its worker's death) or is gone too (only `up`'s watch of the recorded pids is left).
`kill -9` of `up` itself while a run is in progress: every process `up` started ends (none left
behind), and once `up` is started again no run is left STARTED without a worker."""

import os
import signal
import subprocess
import time

import dagster as dg
import pytest

from continual_ml.app.supervision import process_table
from continual_ml.app.supervision.live_system import Ports
from continual_ml.app.supervision.run_workers import run_worker
from continual_ml.app.supervision.service_process import REPO_ROOT, free_port
from continual_ml_tests.support.live_home import CLI, processes_of, up_environment, wait_for

# Detection: the watch looks every 10 s; a run retry is launched by the daemon's next pass.
FAILED_WITHIN, RETRIED_WITHIN = 60, 180
STARTED = dg.DagsterRunStatus.STARTED


def start_up(env, ports, log, traffic: bool, starts: int = 1) -> subprocess.Popen:
    command = [CLI, "up", "--dagster-port", str(ports.webserver)]
    command += ["--mlflow-port", str(ports.mlflow), "--service-port", str(ports.service)]
    if traffic:
        command += ["--traffic", "--days", "60", "--day-seconds", "8"]
    with log.open("ab") as out:
        up = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=out)
    ready = "Ctrl-C stops everything"
    wait_for(lambda: log.read_text().count(ready) >= starts, 600, "startup", log)
    return up


def retries_left(instance, run: dg.DagsterRun) -> bool:
    """Whether run retries may launch `run` again: a retry of a retry stops at `max_retries`."""
    return int(run.tags.get("dagster/retry_number", 0)) < instance.run_retries_max_retries


def started_run_with_worker(instance) -> tuple[dg.DagsterRun, int] | None:
    """A STARTED run, with retries left, whose worker recorded its pid and is running."""
    started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
    for record in instance.get_run_records(started):
        if not retries_left(instance, record.dagster_run):
            continue
        worker = run_worker(instance, record.dagster_run.run_id)
        if worker is not None and not worker.gone():
            return record.dagster_run, worker.pid
    return None


def wait_started_run(instance, log, timeout: float) -> tuple[dg.DagsterRun, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = started_run_with_worker(instance)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no run in progress in {timeout}s:\n{log.read_text()[-3000:]}")


def status(instance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def wait_failed(instance, run: dg.DagsterRun, which: str, log) -> None:
    """Wait, within `FAILED_WITHIN`, for `run` to be marked failed."""
    wait_for(
        lambda: status(instance, run.run_id) == dg.DagsterRunStatus.FAILURE,
        FAILED_WITHIN,
        f"run {run.run_id}{which} marked failed",
        log,
    )


def retried(instance, run: dg.DagsterRun, within: str, log) -> None:
    """Wait for run retries to launch `run` again; on failure, say what Dagster decided."""
    try:
        wait_for(lambda: retry_of(instance, run.run_id), RETRIED_WITHIN, f"a retry{within}", log)
    except AssertionError as missing:
        raise AssertionError(f"{missing}\n{outcome(instance, run)}") from None


def outcome(instance, run: dg.DagsterRun) -> str:
    """A run's status, tags and its failed steps' errors."""
    run = instance.get_run_by_id(run.run_id)
    failed = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    errors = [r.event_log_entry.dagster_event.step_failure_data.error for r in failed]
    return f"{run.status.value}, tags {dict(run.tags)}, failed steps' errors {errors}"


def retry_of(instance, run_id: str) -> list:
    retries = instance.get_run_records(dg.RunsFilter(tags={"dagster/parent_run_id": run_id}))
    return [r.dagster_run for r in retries]


def orphaned_started_runs(instance) -> list[str]:
    """STARTED runs whose recorded worker is gone: what must never stay."""
    started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
    orphaned = []
    for record in instance.get_run_records(started):
        worker = run_worker(instance, record.dagster_run.run_id)
        if worker is not None and worker.gone():
            orphaned.append(record.dagster_run.run_id)
    return orphaned


@pytest.mark.timeout(2400)
def test_a_killed_run_worker_fails_its_run_which_retries_and_a_killed_up_leaves_nothing(
    tmp_path, monkeypatch
):
    home = tmp_path / "home"
    ports = Ports.free()
    env = up_environment(
        home,
        CONTINUAL_ML_SENSOR_SECONDS="2",
        DAGSTER_CODE_SERVER_PORT=str(free_port()),
    )
    log = tmp_path / "up.log"
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    up = start_up(env, ports, log, traffic=True)
    timings = {}
    try:
        with dg.DagsterInstance.get() as instance:
            # 1. A run worker killed mid-run: its run fails, then runs again.
            run, pid = wait_started_run(instance, log, 300)
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            wait_failed(instance, run, "", log)
            timings["run worker: failed after"] = time.monotonic() - killed
            retried(instance, run, "", log)
            timings["run worker: retry launched after"] = time.monotonic() - killed

            # 1b. The same, once the code server that launched it is gone (it had noticed the
            # death above): nothing but `up`'s watch is left to notice.
            run, pid = wait_started_run(instance, log, 300)
            os.kill(process_table.parent(pid), signal.SIGKILL)  # the code server's gRPC child
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            wait_failed(instance, run, " without its code server", log)
            timings["orphaned run worker: failed after"] = time.monotonic() - killed
            assert f"lost its worker (pid {pid})" in log.read_text()
            retried(instance, run, " without its code server", log)
            timings["orphaned run worker: retry launched after"] = time.monotonic() - killed

            # 2. `up` itself killed outright while a run is in progress.
            in_progress, worker = wait_started_run(instance, log, 300)
            up.send_signal(signal.SIGKILL)
            up.wait(timeout=30)
            killed = time.monotonic()
            wait_for(lambda: processes_of(home) == [], 60, "every process of up ended", log)
            timings["up killed: no process left after"] = time.monotonic() - killed
            assert not process_table.running(worker)
            # STARTED if the worker died before it could say so, FAILURE if its SIGTERM let it
            # record the failure; SUCCESS only if it finished in the instant before the kill.
            finished = status(instance, in_progress.run_id) == dg.DagsterRunStatus.SUCCESS
            print(f"\nthe run in progress when up was killed: {outcome(instance, in_progress)}")

            # 3. The next `up`: no run is left STARTED without its worker, and the run retries.
            restarted = time.monotonic()
            up = start_up(env, ports, log, traffic=False, starts=2)
            wait_for(
                lambda: (
                    orphaned_started_runs(instance) == []
                    and (finished or status(instance, in_progress.run_id) != STARTED)
                ),
                FAILED_WITHIN,
                "no orphaned STARTED run after the restart",
                log,
            )
            timings["next up: no orphaned run after start + "] = time.monotonic() - restarted
            if not finished:
                assert status(instance, in_progress.run_id) == dg.DagsterRunStatus.FAILURE
                retried(instance, in_progress, " after the restart", log)
        print(f"\n{ {k: round(v, 1) for k, v in timings.items()} }")
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            up.wait(timeout=120)
    assert processes_of(home) == []
