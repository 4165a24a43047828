"""A hung component is restarted like a dead one: `kill -STOP` of the Dagster daemon, of the code
server and of the BentoML service (its arbiter, whose workers keep answering) under a running
`continual-ml up`; each is detected and replaced by a process that works, within 60 s."""

import json
import os
import signal
import subprocess
import time

import dagster as dg
import httpx
import pytest

from continual_ml.app.supervision import process_table
from continual_ml.app.supervision.daemon_heartbeats import newest_heartbeat
from continual_ml.app.supervision.live_system import STATE_FILE, CodeServerPing, Ports
from continual_ml.app.supervision.service_process import REPO_ROOT, free_port
from continual_ml_tests.support.live_home import CLI, processes_of, up_environment, wait_for

RECOVERED_WITHIN = 60


def pids(home) -> dict[str, int]:
    state = home / STATE_FILE
    try:
        return json.loads(state.read_text())["pids"]
    except (FileNotFoundError, ValueError):
        return {}


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).is_success
    except httpx.HTTPError:
        return False


def stop_and_time_recovery(home, name: str, works, log, stopped: list[int]) -> float:
    """`kill -STOP` the component's process; seconds until another process of it works."""
    old = pids(home)[name]
    os.kill(old, signal.SIGSTOP)
    stopped.append(old)
    at, stopped_at = time.monotonic(), time.time()
    wait_for(
        lambda: (
            pids(home).get(name, old) != old
            and process_table.running(pids(home)[name])
            and works(stopped_at)
        ),
        RECOVERED_WITHIN,
        f"a working {name} after kill -STOP",
        log,
    )
    return time.monotonic() - at


@pytest.mark.timeout(1500)
def test_a_stopped_daemon_code_server_and_service_are_each_replaced_within_a_minute(
    tmp_path, monkeypatch
):
    home, ports, code_server_port = tmp_path / "home", Ports.free(), free_port()
    env = up_environment(home, DAGSTER_CODE_SERVER_PORT=str(code_server_port))
    log = tmp_path / "up.log"
    command = [CLI, "up", "--dagster-port", str(ports.webserver), "--mlflow-port"]
    command += [str(ports.mlflow), "--service-port", str(ports.service)]
    with log.open("wb") as out:
        up = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=out)
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    stopped: list[int] = []
    recovered = {}
    try:
        wait_for(lambda: "Ctrl-C stops everything" in log.read_text(), 600, "startup", log)
        ping = CodeServerPing(code_server_port)
        ready = f"http://127.0.0.1:{ports.service}/readyz"
        with dg.DagsterInstance.get() as instance:
            wait_for(lambda: newest_heartbeat(instance), 120, "a daemon heartbeat", log)
            # The daemon works again once a heartbeat newer than the stop is written.
            recovered["daemon"] = stop_and_time_recovery(
                home,
                "daemon",
                lambda stopped_at: (newest_heartbeat(instance) or 0) > stopped_at,
                log,
                stopped,
            )
        recovered["code_server"] = stop_and_time_recovery(
            home, "code_server", lambda stopped_at: ping.answers(), log, stopped
        )
        # The arbiter stopped, its worker still answers: only the process state tells.
        recovered["service"] = stop_and_time_recovery(
            home, "service", lambda stopped_at: answers(ready), log, stopped
        )
        print(f"\nrecovered after (s): { {k: round(v, 1) for k, v in recovered.items()} }")
        status = subprocess.run(
            [CLI, "status"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
        )
        for name in ("daemon", "code_server", "service"):
            assert f"{name} running, restarted 1x" in status.stdout, status.stdout
        [supervision] = [x for x in status.stdout.splitlines() if x.startswith("supervision:")]
        assert supervision.count("stopped (SIGSTOP or a debugger)") == 3, status.stdout
        alerts = (home / "alerts.jsonl").read_text()
        assert alerts.count('"component_restarted"') >= 3
        assert up.poll() is None
    finally:
        for pid in stopped:  # a stopped process acts on no signal but SIGKILL until continued
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        up.send_signal(signal.SIGINT)
        up.wait(timeout=120)
    assert up.returncode == 0, log.read_text()[-3000:]
    assert not any(process_table.running(pid) for pid in stopped)
    assert processes_of(home) == []
