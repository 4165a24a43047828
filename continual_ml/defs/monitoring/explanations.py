"""Evidently's reports for the days monitoring measured: one run over all that wait."""

import dagster as dg

from continual_ml.defs.jobs import drift_explanation_job, queue_tags, sensor_interval
from continual_ml.defs.monitoring.assets import KEEP_REPORTS
from continual_ml.defs.partitions import consecutive_days, days_request
from continual_ml.defs.rerequest import attempt_run_key, decide, request_tags

REPORTS_PER_RUN = 4  # about 1.5 s each on two cores
IN_FLIGHT = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _newest_event_by_partition(instance, asset: str, limit: int) -> dict[str, int]:
    records = instance.fetch_materializations(
        dg.AssetKey(asset), limit=limit, ascending=False
    ).records
    newest: dict[str, int] = {}
    for record in records:
        newest.setdefault(record.asset_materialization.partition, record.storage_id)
    return newest


def days_to_explain(instance, keep: int = KEEP_REPORTS) -> dict[str, int]:
    """The newest `keep` days whose drift was measured after their report was last rendered,
    each with the event id of that measurement."""
    reported = _newest_event_by_partition(instance, "drift_report", keep * 2)
    explained = _newest_event_by_partition(instance, "drift_explanation", keep * 4)
    waiting = sorted(day for day, event in reported.items() if event > explained.get(day, -1))
    return {day: reported[day] for day in waiting[-keep:]}


@dg.sensor(
    job=drift_explanation_job,
    minimum_interval_seconds=sensor_interval(2),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def drift_explanation_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Render Evidently's drift report for the days monitored since their last one.

    One run at a time, over the newest consecutive days waiting (at most `REPORTS_PER_RUN`;
    only the `KEEP_REPORTS` newest are ever rendered): a backfill of a year asks for 60 reports
    in 15 runs, not 365, and under live load the reports of several days share a run's
    start-up. Its priority puts it behind the loop's own runs; `queue_aging_sensor` keeps it
    from waiting forever.
    """
    in_flight = context.instance.get_run_records(
        dg.RunsFilter(job_name=drift_explanation_job.name, statuses=IN_FLIGHT), limit=1
    )
    if in_flight:
        return dg.SensorResult(
            skip_reason=f"run {in_flight[0].dagster_run.run_id} is rendering reports"
        )
    waiting = days_to_explain(context.instance)
    if not waiting:
        return dg.SensorResult(skip_reason="every monitored day has its report")
    # The newest consecutive days (a range run covers every day in it), a few at a time: the
    # run reads only the samples monitoring left, but takes a run slot while Evidently renders.
    days = consecutive_days(list(waiting))[-1][-REPORTS_PER_RUN:]
    # Names these measurements: a day measured again later is a new request.
    request_key = f"explain:{days[0]}..{days[-1]}@{max(waiting[day] for day in days)}"
    step, _ = decide(context.instance, request_key)
    if step.step != "request":
        return dg.SensorResult(skip_reason=f"{days[0]}..{days[-1]}: {step.reason}")
    request = days_request(days)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=attempt_run_key(request_key, step.attempt),
                partition_key=request.get("partition_key"),
                tags={
                    **request["tags"],
                    **queue_tags("explanation"),
                    **request_tags(request_key),
                },
            )
        ]
    )
