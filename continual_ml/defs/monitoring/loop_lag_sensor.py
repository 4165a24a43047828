"""The loop's lag, watched: monitoring lag and queue wait read each tick, kept for `status` and
Prometheus, and alerted on once as an episode starts and once as it ends."""

import json
from datetime import UTC, datetime

import dagster as dg
import duckdb

from continual_ml.alerts.delivery import Alert
from continual_ml.alerts.links import run_url
from continual_ml.config import Paths
from continual_ml.defs.resources import AlertsResource, WarehouseResource
from continual_ml.monitoring.lag_episodes import LagChange, LagLimits, lag_changes
from continual_ml.monitoring.loop_lag import (
    MonitoringLag,
    QueuedRun,
    QueueWait,
    monitoring_lag,
    queue_wait,
)
from continual_ml.monitoring.loop_lag_record import loop_lag_record, read_loop_lag, write_loop_lag
from continual_ml.settings import Settings
from continual_ml.warehouse.connection import open_warehouse, warehouse_exists


def queued_runs(instance: dg.DagsterInstance) -> list[QueuedRun]:
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]), limit=1000
    )
    return [
        QueuedRun(r.dagster_run.run_id, r.dagster_run.job_name, r.create_timestamp) for r in records
    ]


def read_lag(warehouse: WarehouseResource) -> MonitoringLag | None:
    """The warehouse's monitoring lag; None while a run holds the file (read next tick)."""
    if not warehouse_exists(warehouse.location):
        return MonitoringLag(None, None, None)
    try:
        conn = open_warehouse(warehouse.location, read_only=True)
    except duckdb.Error:
        return None
    try:
        return monitoring_lag(conn)
    except duckdb.CatalogException:  # no tables yet
        return MonitoringLag(None, None, None)
    finally:
        conn.close()


def lag_alert(
    change: LagChange, lag: MonitoringLag | None, queue: QueueWait, limits: LagLimits
) -> Alert:
    limit = limits.limit_text(change.condition)
    if change.condition == "monitoring_lag":
        what = f"Monitoring lags {lag.days} day(s)" if change.opened else "Monitoring caught up"
        text, fields, links = lag.describe(), {"limit": limit}, {}
    else:
        what = "A run waits in the queue" if change.opened else "The run queue moves again"
        text, fields, links = queue.describe(), {"limit": limit}, {}
        if queue.oldest is not None:
            fields["oldest job"] = queue.oldest.job_name
            links["Dagster run"] = run_url(queue.oldest.run_id)
    return Alert(
        "loop_lagging" if change.opened else "loop_caught_up",
        what + (f", past {limit}" if change.opened else f", within {limit}"),
        text,
        fields,
        links=links,
    )


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def loop_lag_sensor(
    context: dg.SensorEvaluationContext, duckdb: WarehouseResource, alerts: AlertsResource
) -> dg.SkipReason:
    """Read how far behind the loop is; alert as it falls behind and as it catches up."""
    settings, now = Settings.from_env(), datetime.now(UTC)
    limits = LagLimits(settings.lag_alert_days, settings.queue_alert_minutes)
    queue, lag = queue_wait(queued_runs(context.instance), now), read_lag(duckdb)
    readings = {"monitoring_lag": lag and lag.days, "queue_wait": queue.oldest_wait_seconds}
    episodes, changes = lag_changes(json.loads(context.cursor or "{}"), readings, limits)
    for change in changes:
        alerts.send(lag_alert(change, lag, queue, limits), context.log)
    path = Paths.from_env().loop_lag_record
    try:
        write_loop_lag(path, loop_lag_record(read_loop_lag(path), lag, queue, episodes, now))
    except OSError as error:  # a full disk: the alerts above still went out
        context.log.warning(f"could not record the loop's lag: {error}")
    context.update_cursor(json.dumps(episodes))
    lag_text = lag.describe() if lag else "not read (the warehouse is busy)"
    return dg.SkipReason(f"monitoring lag {lag_text}; {queue.describe()}")
