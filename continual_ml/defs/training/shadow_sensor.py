"""The shadow job and its sensor: the open challenger scored on each day monitoring measured."""

import dagster as dg

from continual_ml.defs.jobs import queue_tags, sensor_interval
from continual_ml.defs.training.assets import champion_model, evaluation_scores

MODEL_PERFORMANCE = dg.AssetKey("model_performance")
LOOKBACK = 400  # model_performance events read per tick: more than a challenger's horizon

shadow_job = dg.define_asset_job(
    "shadow_job",
    selection=[evaluation_scores, champion_model],
    description="Score the open challenger beside the champion on a labelled day; let the gate "
    "look again at the evidence so far.",
    tags={**queue_tags("retrain"), "dagster/retry_on_asset_or_op_failure": "false"},
)


def open_challenger_event(instance) -> tuple[int, str] | None:
    """The challenger the newest decision left open, and its partition, from the event log."""
    records = instance.fetch_materializations(champion_model.key, limit=1, ascending=False)
    for record in records.records:
        metadata = record.asset_materialization.metadata
        version = metadata.get("open_challenger")
        if version is None or not isinstance(version.value, int | float):
            return None
        return int(version.value), str(metadata["open_challenger_partition"].value)
    return None


@dg.sensor(
    job=shadow_job,
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def shadow_evidence_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One shadow run per day monitored after the open challenger was trained, and again when
    late labels measure that day again (a new `model_performance` event, so a new run key)."""
    challenger = open_challenger_event(context.instance)
    if challenger is None:
        return dg.SensorResult(skip_reason="no open challenger")
    version, trained_for = challenger
    newest: dict[str, int] = {}
    records = context.instance.fetch_materializations(
        MODEL_PERFORMANCE, limit=LOOKBACK, ascending=False
    ).records
    for record in records:
        newest.setdefault(record.asset_materialization.partition, record.storage_id)
    # Run keys make Dagster launch each (challenger, day, measurement) once, whatever the ticks.
    requests = [
        dg.RunRequest(
            run_key=f"shadow-v{version}-{partition}-{storage_id}",
            partition_key=partition,
            tags={**queue_tags("retrain"), "continual_ml/trigger": "shadow"},
        )
        for partition, storage_id in sorted(newest.items())
        if partition > trained_for
    ]
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else f"no day monitored after v{version}'s {trained_for}",
    )
