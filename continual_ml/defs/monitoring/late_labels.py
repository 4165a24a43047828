"""Labels that land after their day was monitored: the champion is measured again on it."""

import dagster as dg

from continual_ml.defs.jobs import performance_job, sensor_interval
from continual_ml.defs.partitions import consecutive_days, daily_partitions, days_request
from continual_ml.ingestion.core import IngestReport
from continual_ml.ingestion.ledger import label_counts
from continual_ml.warehouse.labelled_rows import labelled_partitions

labels = dg.AssetSpec(
    "labels",
    partitions_def=daily_partitions,
    group_name="data",
    kinds={"duckdb"},
    description="Late labels, kept as a history beside `observations` (partition of their rows).",
)
MODEL_PERFORMANCE = dg.AssetKey("model_performance")
WAITING = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED]


def label_events(conn, report: IngestReport) -> list[dg.AssetObservation]:
    """One `labels` observation per partition whose rows the file labelled (a label file, or
    the service's feedback in a prediction log)."""
    if report.status != "ingested" or report.ingestion_id is None:
        return []
    return [
        dg.AssetObservation(asset_key=labels.key, partition=str(day), metadata={"labels": n})
        for day, n in labelled_partitions(conn, report.ingestion_id).items()
    ]


def label_ledger_event(conn) -> dg.AssetObservation:
    """Where every label keyed by a row id stands, warehouse-wide: matched, waiting, or for a
    quarantined row (`continual-ml status` shows it). No partition: it is about all of them."""
    return dg.AssetObservation(asset_key=labels.key, metadata=label_counts(conn).as_metadata())


@dg.sensor(
    job=performance_job,
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def late_labels_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Re-measure `model_performance` on the monitored partitions that new labels reached: one
    run over each stretch of consecutive days, not one run per day."""
    # While one is still queued, new labels wait for the next run (the cursor stays put).
    queued = context.instance.get_run_records(
        dg.RunsFilter(job_name=performance_job.name, statuses=WAITING), limit=1
    )
    if queued:
        run_id = queued[0].dagster_run.run_id
        return dg.SensorResult(skip_reason=f"run {run_id} is queued; new labels join the next")
    # The event log only, like the retrain sensor: never the DuckDB file a run may be writing.
    found = context.instance.fetch_observations(
        labels.key, limit=500, cursor=context.cursor, ascending=True
    )
    monitored = context.instance.get_materialized_partitions(MODEL_PERFORMANCE)
    # Days not monitored yet read the labels when they are; the rest are measured again.
    newest: dict[str, int] = {}
    for record in found.records:
        partition = record.asset_observation.partition
        if partition in monitored:
            newest[partition] = max(newest.get(partition, 0), record.storage_id)
    requests = []
    for days in consecutive_days(list(newest)):
        span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
        request = days_request(days)
        requests.append(
            dg.RunRequest(
                run_key=f"late-labels-{span}-{max(newest[day] for day in days)}",
                partition_key=request.get("partition_key"),
                tags={**request["tags"], "continual_ml/trigger": "late_labels"},
            )
        )
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else "no new labels on a monitored partition",
        cursor=found.cursor or context.cursor,
    )
