"""`continual-ml up` for real: every process starts, the daemon's sensors run the loop on the
traffic, `status` reports it, and Ctrl-C leaves no process and no DuckDB lock behind."""

import os
import signal
import subprocess
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import httpx

from continual_ml.app.supervision.live_system import STATE_FILE, Ports
from continual_ml.app.supervision.service_process import REPO_ROOT
from continual_ml_tests.support.live_home import CLI, processes_of, up_environment, wait_for


def days_monitored_by_sensor(dagster_home: Path) -> set[date]:
    """The days the landing sensor's successful monitoring runs covered: one, or a range."""
    days = set()
    for record in succeeded_runs(dagster_home, "monitoring_job"):
        tags = record.dagster_run.tags
        if tags.get("dagster/sensor_name") != "landing_folder_sensor":
            continue
        start = tags.get("dagster/partition") or tags["dagster/asset_partition_range_start"]
        end = tags.get("dagster/partition") or tags["dagster/asset_partition_range_end"]
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        days |= {first + timedelta(days=n) for n in range((last - first).days + 1)}
    return days


def succeeded_runs(dagster_home: Path, job: str) -> list:
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        return list(
            instance.get_run_records(
                dg.RunsFilter(job_name=job, statuses=[dg.DagsterRunStatus.SUCCESS])
            )
        )


def test_up_runs_the_loop_on_traffic_and_stops_cleanly(tmp_path, monkeypatch):
    home = tmp_path / "home"
    ports = Ports.free()
    env = up_environment(home, CONTINUAL_ML_SENSOR_SECONDS="2")
    log = tmp_path / "up.log"
    command = [CLI, "up", "--traffic", "--days", "2", "--day-seconds", "3"]
    command += ["--dagster-port", str(ports.webserver), "--mlflow-port", str(ports.mlflow)]
    command += ["--service-port", str(ports.service)]
    with log.open("wb") as out:
        up = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=out)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    try:
        wait_for(lambda: "Ctrl-C stops everything" in log.read_text(), 420, "startup", log)
        assert up.poll() is None
        for url in (
            f"http://127.0.0.1:{ports.webserver}/server_info",
            f"http://127.0.0.1:{ports.mlflow}/health",
            f"http://127.0.0.1:{ports.service}/readyz",
        ):
            assert httpx.get(url, timeout=10).status_code == 200, url
        # The landing sensor, on the daemon, lands and monitors each day of traffic (two days
        # landed while a run is queued share the next run).
        wait_for(
            lambda: len(days_monitored_by_sensor(home / "dagster_home")) >= 2,
            240,
            "two traffic days monitored by sensor-launched runs",
            log,
        )
        assert len(days_monitored_by_sensor(home / "dagster_home")) == 2
        status = subprocess.run(
            [CLI, "status"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
        )
        assert status.returncode == 0, status.stderr
        assert "champion: v1" in status.stdout
        assert "service: serving v1" in status.stdout
        assert "monitoring_job" in status.stdout and "SUCCESS" in status.stdout
        assert "drift: " in status.stdout and "performance: " in status.stdout
    finally:
        up.send_signal(signal.SIGINT)  # what Ctrl-C does
        up.wait(timeout=120)
    assert up.returncode == 0, log.read_text()[-3000:]
    assert "stopped" in log.read_text()
    assert processes_of(home) == []
    assert not (home / STATE_FILE).exists()
    # Nobody holds the warehouse: it opens for writing at once.
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        assert conn.execute("SELECT count(*) FROM observations").fetchone()[0] > 0
