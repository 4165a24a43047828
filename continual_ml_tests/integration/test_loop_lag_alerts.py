"""The loop's lag made visible: a real instance whose queue no daemon serves, days landed into
the real warehouse with no measurement, the sensor ticking, a webhook receiver for Slack, and the
service's `/metrics`."""

import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
from prometheus_client.parser import text_string_to_metric_families

from continual_ml.app.status import lag_lines
from continual_ml.defs.monitoring.loop_lag_sensor import loop_lag_sensor
from continual_ml.defs.resources import build_resources
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.monitoring.loop_lag import MonitoringLag, QueuedRun, queue_wait
from continual_ml.monitoring.loop_lag_record import (
    TEXTFILE_NAME,
    loop_lag_record,
    read_loop_lag,
    write_loop_lag,
)
from continual_ml_tests.support import queued_job
from continual_ml_tests.support.in_process_service import in_process_service
from continual_ml_tests.support.service_support import export, trained
from continual_ml_tests.support.synthetic_days import land_days

SECRET = "T0SECRET/B0SECRET/xoxb-not-to-be-shown"


def submit_queued_run() -> None:
    dagster = Path(sys.executable).with_name("dagster")
    subprocess.run(
        [str(dagster), "job", "launch", "-f", queued_job.__file__, "-a", "waiting_job"],
        check=True,
        capture_output=True,
        timeout=300,
    )


def tick(home, instance, cursor):
    resources = build_resources(home)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"alerts": resources["alerts"]},
    )
    result = loop_lag_sensor.evaluate_tick(context)
    return result.cursor


def gauges(home) -> dict[tuple[str, str], float]:
    text = (home.home / TEXTFILE_NAME).read_text()
    return {
        (s.name, s.labels.get("condition", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_lag_and_queue_wait_are_alerted_once_per_episode(
    home, config, webhook_receiver, monkeypatch
):
    monkeypatch.setenv("CONTINUAL_ML_SLACK_WEBHOOK_URL", f"{webhook_receiver.url}/{SECRET}")
    monkeypatch.setenv("CONTINUAL_ML_API_TOKEN", "api-token-not-to-be-shown")
    monkeypatch.setenv("CONTINUAL_ML_LAG_ALERT_DAYS", "3")
    monkeypatch.setenv("CONTINUAL_ML_QUEUE_ALERT_MINUTES", "60")
    instance = dg.DagsterInstance.get()  # the home's own, as `up` configures it
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    days = [partition_date(config, i) for i in range(5)]
    land_days(days, home, build_resources(home), instance)
    for _ in range(2):
        submit_queued_run()
    queued = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]))
    assert len(queued) == 2  # no daemon: they stay queued

    def texts():
        return [json.loads(body)["text"] for _, body in webhook_receiver.requests]

    cursor = tick(home, instance, None)
    cursor = tick(home, instance, cursor)  # still lagging: said once only
    assert len(texts()) == 1
    assert texts()[0].startswith("[loop_lagging] Monitoring lags 5 day(s), past 3 day(s)")
    assert f"landed to {days[-1]}, measured to none yet" in texts()[0]
    lines = lag_lines(instance, home)
    assert lines[0].startswith("queue: 2 run(s) queued, the oldest for")
    assert "(waiting_job, run " in lines[0] and "OVER LIMIT" not in lines[0]
    assert lines[1].startswith("monitoring lag: 5 day(s)") and lines[1].endswith("[OVER LIMIT]")
    assert gauges(home)[("continual_ml_monitoring_lag_days", "")] == 5
    assert gauges(home)[("continual_ml_queued_runs", "")] == 2

    monkeypatch.setenv("CONTINUAL_ML_QUEUE_ALERT_MINUTES", "0.001")  # 60 ms: both runs past it
    cursor = tick(home, instance, cursor)
    cursor = tick(home, instance, cursor)
    assert len(texts()) == 2
    assert texts()[1].startswith("[loop_lagging] A run waits in the queue, past 0.001 min")
    assert gauges(home)[("continual_ml_loop_lag_alerting", "queue_wait")] == 1

    for record in queued:  # the queue empties: one recovery note
        instance.delete_run(record.dagster_run.run_id)
    # The newest day measured, as a monitoring run records it (its drift report's event).
    instance.report_runless_asset_event(
        dg.AssetMaterialization("drift_report", partition=str(days[-1]))
    )
    cursor = tick(home, instance, cursor)
    cursor = tick(home, instance, cursor)
    assert sorted(texts()[2:]) == [
        "[loop_caught_up] Monitoring caught up, within 3 day(s): "
        f"0 day(s): landed to {days[-1]}, measured to {days[-1]} (limit=3 day(s))",
        "[loop_caught_up] The run queue moves again, within 0.001 min: no runs queued "
        "(limit=0.001 min)",
    ]
    assert gauges(home)[("continual_ml_oldest_queued_run_seconds", "")] == 0
    episodes = read_loop_lag(home.loop_lag_record)["episodes"]
    assert episodes == {"monitoring_lag": False, "queue_wait": False}
    # No secret in what went out or what was recorded.
    sent = b"".join(body for _, body in webhook_receiver.requests).decode()
    recorded = (home.home / "loop_lag.json").read_text() + (home.home / TEXTFILE_NAME).read_text()
    for secret in ("SECRET", "api-token-not-to-be-shown"):
        assert secret not in sent + recorded + home.alerts_record.read_text()


def test_the_service_exports_the_recorded_lag_on_its_metrics(home, tmp_path):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    queued = QueuedRun("r1", "retrain_job", now - timedelta(minutes=10))
    queue = queue_wait([queued], now)
    lag = MonitoringLag(date(2026, 3, 10), date(2026, 3, 3), date(2026, 3, 1))
    write_loop_lag(home.loop_lag_record, loop_lag_record({}, lag, queue, {}, now))
    store = tmp_path / "bentoml"
    export(store, 1, trained(0))
    with in_process_service(store, tmp_path / "logs") as service:
        wanted = {
            "continual_ml_monitoring_lag_days": 7.0,
            "continual_ml_queued_runs": 1.0,
            "continual_ml_oldest_queued_run_seconds": 600.0,
            "continual_ml_loop_lag_read_timestamp_seconds": now.timestamp(),
        }
        deadline, found = time.monotonic() + 30, {}
        while time.monotonic() < deadline and found != wanted:  # set at the next model poll
            text = service.get("/metrics").text
            found = {
                s.name: s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
                if s.name in wanted
            }
            time.sleep(0.2)
    assert found == wanted
