"""Labels that land after their day was monitored: the champion is measured again on it."""

import dagster as dg

from continual_ml.defs.jobs import SENSOR_INTERVAL_SECONDS, performance_job
from continual_ml.defs.partitions import daily_partitions
from continual_ml.ingestion.core import IngestReport
from continual_ml.warehouse.labelled_rows import labelled_partitions

labels = dg.AssetSpec(
    "labels",
    partitions_def=daily_partitions,
    group_name="data",
    kinds={"duckdb"},
    description="Late labels, kept as a history beside `observations` (partition of their rows).",
)
MODEL_PERFORMANCE = dg.AssetKey("model_performance")


def label_events(conn, report: IngestReport) -> list[dg.AssetObservation]:
    """One `labels` observation per partition whose rows the file labelled (a label file, or
    the service's feedback in a prediction log)."""
    if report.status != "ingested" or report.ingestion_id is None:
        return []
    return [
        dg.AssetObservation(asset_key=labels.key, partition=str(day), metadata={"labels": n})
        for day, n in labelled_partitions(conn, report.ingestion_id).items()
    ]


@dg.sensor(
    job=performance_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def late_labels_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Re-measure `model_performance` on each monitored partition that new labels reached."""
    # The event log only, like the retrain sensor: never the DuckDB file a run may be writing.
    found = context.instance.fetch_observations(
        labels.key, limit=500, cursor=context.cursor, ascending=True
    )
    monitored = context.instance.get_materialized_partitions(MODEL_PERFORMANCE)
    requests, seen = [], set()
    for record in found.records:
        partition = record.asset_observation.partition
        # Days not monitored yet read the labels when they are; the rest are measured again.
        if partition in monitored and partition not in seen:
            seen.add(partition)
            requests.append(
                dg.RunRequest(
                    run_key=f"late-labels-{partition}-{record.storage_id}",
                    partition_key=partition,
                    tags={"continual_ml/trigger": "late_labels"},
                )
            )
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else "no new labels on a monitored partition",
        cursor=found.cursor or context.cursor,
    )
