"""Runs kept healthy: queued runs aged so no kind of work starves, failed runs alerted with their
cause."""

from datetime import UTC, datetime

import dagster as dg

from continual_ml.alerts.delivery import Alert
from continual_ml.decisions.queue_aging import AGING_CAP, AGING_STEP_SECONDS, aged_priority
from continual_ml.defs.data.ingestion import ingest_file_job
from continual_ml.defs.jobs import (
    drift_explanation_job,
    monitoring_job,
    performance_job,
    retrain_job,
)
from continual_ml.defs.metadata import run_url
from continual_ml.defs.resources import AlertsResource
from continual_ml.defs.training.operations import approval_job, rollback_job
from continual_ml.defs.training.shadow_sensor import shadow_job

BASE_PRIORITY_TAG = "continual_ml/base_priority"


def age_queued_runs(instance: dg.DagsterInstance, now: datetime) -> int:
    """Give each queued run the priority its wait has earned; how many were raised."""
    raised = 0
    for record in instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]), limit=500
    ):
        tags = record.dagster_run.tags
        current = int(tags.get("dagster/priority", "0"))
        base = int(tags.get(BASE_PRIORITY_TAG, current))
        waited = (now - record.create_timestamp).total_seconds()
        earned = aged_priority(base, waited, AGING_STEP_SECONDS, AGING_CAP)
        if earned > current:
            instance.add_run_tags(
                record.dagster_run.run_id,
                {"dagster/priority": str(earned), BASE_PRIORITY_TAG: str(base)},
            )
            raised += 1
    return raised


@dg.sensor(minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def queue_aging_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Raise the priority of runs that have waited in the queue, so no kind of work starves."""
    raised = age_queued_runs(context.instance, datetime.now(UTC))
    queued = context.instance.get_runs_count(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]))
    return dg.SkipReason(f"{queued} runs queued, {raised} raised in priority")


# Every job of the code location: each one's failures are alerted on.
JOBS = [
    monitoring_job,
    performance_job,
    retrain_job,
    drift_explanation_job,
    rollback_job,
    approval_job,
    ingest_file_job,
    shadow_job,
]


def _error_line(error) -> str:
    # Dagster's message usually starts with the class name already ("ConnectionError: ...").
    message = error.message.strip()
    return message if message.startswith(error.cls_name) else f"{error.cls_name}: {message}"


def failure_cause(context: dg.RunFailureSensorContext) -> str:
    """What made the run fail, in one line: the failed step's error, or, for a run Dagster failed
    from outside (lost code server, killed worker), the error its engine events recorded."""
    steps = context.get_step_failure_events()
    errors = [
        f"{event.step_key}: {_error_line(event.step_failure_data.error)}"
        for event in steps
        if event.step_failure_data and event.step_failure_data.error
    ]
    if not errors:
        records = context.instance.all_logs(
            context.dagster_run.run_id,
            of_type={dg.DagsterEventType.ENGINE_EVENT, dg.DagsterEventType.RUN_FAILURE},
        )
        for record in reversed(records):
            error = getattr(record.dagster_event.event_specific_data, "error", None)
            if error is not None:
                errors.append(_error_line(error))
                break
    message = context.failure_event.message or "the run failed"
    cause = errors[0].splitlines()[0][:500] if errors else None
    return f"{message} Cause: {cause}" if cause else message


# No `monitored_jobs`: every run of the code location is watched, the automation condition
# sensor's own asset runs (drift explanations) included.
@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    """Alert when a run fails, with its cause; a broken candidate has had its own alert."""
    run = context.dagster_run
    failures = context.get_step_failure_events()
    if failures and all(
        "candidate_beats_champion" in (f.step_failure_data.error.message or "")
        for f in failures
        if f.step_failure_data and f.step_failure_data.error
    ):
        context.log.info(f"run {run.run_id}: the gate refused a broken candidate; already alerted")
        return
    # Read again: Dagster tags whether it will retry the run as the failure is stored.
    will_retry = context.instance.get_run_by_id(run.run_id).tags.get("dagster/will_retry")
    alerts.send(
        Alert(
            "run_failed",
            f"Run of {run.job_name} failed",
            failure_cause(context),
            {"run id": run.run_id, "partition": run.tags.get("dagster/partition", "-")},
            links={"Dagster run": run_url(run.run_id)},
            action="retried automatically" if will_retry == "true" else None,
        ),
        context.log,
    )
