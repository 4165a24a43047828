"""The loop's lag, watched: monitoring lag and queue wait read each tick, kept for `status` and
Prometheus, and alerted on once as an episode starts and once as it ends.

Read from Dagster's event log and run list only, never the DuckDB file: under the load that makes
the loop lag, runs hold that file most of the time, and a reader would make them wait longer."""

import json
from datetime import UTC, date, datetime

import dagster as dg

from continual_ml.alerts.delivery import Alert
from continual_ml.alerts.links import run_url
from continual_ml.config import Paths
from continual_ml.defs.resources import AlertsResource
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

# Every day landed is an `observations` materialization (a monitoring run's, or one an ingestion
# run reports per day it wrote); every day measured, a `drift_report` or `model_performance` one.
LANDED, MEASURED = "observations", ("drift_report", "model_performance")
# The newest events of each asset are enough: the newest day is among them unless more than this
# many older days were redone since (with nothing measured, the lag counts this many days at most).
RECENT_EVENTS = 200


def queued_runs(instance: dg.DagsterInstance) -> list[QueuedRun]:
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]), limit=1000
    )
    return [
        QueuedRun(r.dagster_run.run_id, r.dagster_run.job_name, r.create_timestamp) for r in records
    ]


def days_materialized(instance: dg.DagsterInstance, asset: str) -> list[date]:
    """The partitions of the asset's newest materializations."""
    found = instance.fetch_materializations(dg.AssetKey(asset), limit=RECENT_EVENTS)
    partitions = {r.asset_materialization.partition for r in found.records}
    return [date.fromisoformat(p) for p in partitions if p]


def read_lag(instance: dg.DagsterInstance) -> MonitoringLag:
    measured = [day for asset in MEASURED for day in days_materialized(instance, asset)]
    return monitoring_lag(days_materialized(instance, LANDED), measured)


def lag_alert(change: LagChange, lag: MonitoringLag, queue: QueueWait, limits: LagLimits) -> Alert:
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
def loop_lag_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SkipReason:
    """Read how far behind the loop is; alert as it falls behind and as it catches up."""
    settings, now = Settings.from_env(), datetime.now(UTC)
    limits = LagLimits(settings.lag_alert_days, settings.queue_alert_minutes)
    queue, lag = queue_wait(queued_runs(context.instance), now), read_lag(context.instance)
    readings = {"monitoring_lag": lag.days, "queue_wait": queue.oldest_wait_seconds}
    episodes, changes = lag_changes(json.loads(context.cursor or "{}"), readings, limits)
    for change in changes:
        alerts.send(lag_alert(change, lag, queue, limits), context.log)
    path = Paths.from_env().loop_lag_record
    try:
        write_loop_lag(path, loop_lag_record(read_loop_lag(path), lag, queue, episodes, now))
    except OSError as error:  # a full disk: the alerts above still went out
        context.log.warning(f"could not record the loop's lag: {error}")
    context.update_cursor(json.dumps(episodes))
    return dg.SkipReason(f"monitoring lag {lag.describe()}; {queue.describe()}")
