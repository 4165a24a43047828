"""`continual-ml up` heals itself, for real: `kill -9` the daemon, the code server's gRPC child
behind its live parent, MLflow and the service; each is back within 60 s, sensors keep
creating runs that succeed, and `status` and the alerts say what happened."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import httpx
from test_live import CLI, processes_of, wait_for

from continual_ml.live import STATE_FILE, CodeServerPing, Ports
from continual_ml.service_process import REPO_ROOT, free_port


def pids(home: Path) -> dict[str, int]:
    state = home / STATE_FILE
    return json.loads(state.read_text())["pids"] if state.exists() else {}


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def grpc_child(code_server: int) -> int:
    """The `dagster api grpc` process that `dagster code-server start` runs the code in."""
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit():
                continue
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == code_server and b"grpc" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except (OSError, IndexError):
            continue
    raise AssertionError(f"no gRPC child under the code server {code_server}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).is_success
    except httpx.HTTPError:
        return False


def runs_since(instance, since: float, status=None) -> list:
    statuses = [status] if status else None
    records = instance.get_run_records(dg.RunsFilter(statuses=statuses), limit=200)
    return [r for r in records if r.create_timestamp.timestamp() > since]


def test_up_restarts_a_killed_daemon_and_code_server_and_the_loop_goes_on(tmp_path, monkeypatch):
    home = tmp_path / "home"
    ports, code_server_port = Ports.free(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DAGSTER_HOME", "BENTOML_HOME", "MLFLOW_TRACKING_URI"}
    }
    env.update(
        CONTINUAL_ML_HOME=str(home),
        CONTINUAL_ML_SENSOR_SECONDS="2",
        DAGSTER_CODE_SERVER_PORT=str(code_server_port),
    )
    log = tmp_path / "up.log"
    command = [CLI, "up", "--traffic", "--day-seconds", "6"]
    command += ["--dagster-port", str(ports.webserver), "--mlflow-port", str(ports.mlflow)]
    command += ["--service-port", str(ports.service)]
    with log.open("wb") as out:
        up = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=out)
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    recovered = {}
    try:
        wait_for(lambda: "Ctrl-C stops everything" in log.read_text(), 420, "startup", log)
        # DAGSTER_CODE_SERVER_PORT is where `up` runs the code server.
        assert CodeServerPing(code_server_port).answers()
        with dg.DagsterInstance.get() as instance:
            started = time.time()
            wait_for(lambda: runs_since(instance, started), 120, "a sensor run", log)

            daemon = pids(home)["daemon"]
            os.kill(daemon, signal.SIGKILL)
            killed = time.monotonic()
            wait_for(
                lambda: (
                    pids(home).get("daemon", daemon) != daemon and running(pids(home)["daemon"])
                ),
                60,
                "a new daemon",
                log,
            )
            recovered["daemon"] = time.monotonic() - killed

            code_server = pids(home)["code_server"]
            os.kill(grpc_child(code_server), signal.SIGKILL)
            killed, killed_at = time.monotonic(), time.time()
            ping = CodeServerPing(code_server_port)
            wait_for(
                lambda: pids(home).get("code_server") != code_server and ping.answers(),
                60,
                "a code server answering again",
                log,
            )
            recovered["code_server gRPC child"] = time.monotonic() - killed
            # The loop goes on: sensors create runs, and they succeed.
            wait_for(
                lambda: runs_since(instance, killed_at, dg.DagsterRunStatus.SUCCESS),
                240,
                "a run created after the restart succeeding",
                log,
            )
            for name, url in (
                ("mlflow", f"http://127.0.0.1:{ports.mlflow}/health"),
                ("service", f"http://127.0.0.1:{ports.service}/readyz"),
            ):
                old = pids(home)[name]
                os.kill(old, signal.SIGKILL)
                killed = time.monotonic()
                wait_for(
                    lambda name=name, old=old, url=url: (
                        pids(home).get(name, old) != old and answers(url)
                    ),
                    60,
                    f"{name} answering again",
                    log,
                )
                recovered[name] = time.monotonic() - killed
        print(f"\nrecovered after (s): { {k: round(v, 1) for k, v in recovered.items()} }")
        status = subprocess.run(
            [CLI, "status"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
        )
        assert "daemon running, restarted 1x" in status.stdout, status.stdout
        for name in ("code_server", "mlflow", "service"):
            assert f"{name} running, restarted 1x" in status.stdout, status.stdout
        alerts = (home / "alerts.jsonl").read_text()
        assert '"component_restarted"' in alerts and "code_server" in alerts
        assert httpx.get(f"http://127.0.0.1:{ports.service}/readyz", timeout=10).is_success
        assert up.poll() is None
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=120)
    assert up.returncode == 0, log.read_text()[-3000:]
    assert processes_of(home) == []
