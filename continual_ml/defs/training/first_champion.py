"""The first champion, trained by the daemon as soon as there is history to train it on."""

import dagster as dg

from continual_ml.defs.automation import in_charge_event
from continual_ml.defs.data.ingestion import IN_FLIGHT_STATUSES
from continual_ml.defs.jobs import queue_tags, retrain_sensor
from continual_ml.defs.resources import DatasetResource

OBSERVATIONS = dg.AssetKey("observations")


def first_champion_run_key(partition: str) -> str:
    return f"first-champion-{partition}"


def landed_partitions(instance: dg.DagsterInstance) -> list[str]:
    """Partitions whose newest `observations` event holds rows, oldest first."""
    newest: dict[str, int] = {}
    for record in instance.fetch_materializations(OBSERVATIONS, limit=1000).records:
        partition = record.asset_materialization.partition
        rows = record.asset_materialization.metadata.get("dagster/row_count")
        if partition is not None and partition not in newest:
            newest[partition] = int(rows.value) if rows is not None else 0
    return sorted(p for p, rows in newest.items() if rows > 0)


@retrain_sensor
def first_champion_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource
) -> dg.SensorResult | dg.SkipReason:
    """Train the first champion once a training window of days has landed, so a new deployment
    (compose, `make dev` on a fresh home) serves without anyone launching a run."""
    instance = context.instance
    if in_charge_event(instance) is not None:
        return dg.SkipReason("a champion is in charge")
    waiting = instance.get_run_ids(
        dg.RunsFilter(tags={"continual_ml/trigger": "first_champion"}, statuses=IN_FLIGHT_STATUSES),
        limit=1,
    )
    if waiting:
        return dg.SkipReason(f"the first champion's run {waiting[0]} is under way")
    landed = landed_partitions(instance)
    window = dataset.config.model.training_window_days
    if len(landed) < window:
        return dg.SkipReason(f"{len(landed)} day(s) landed; the first model trains on {window}")
    newest = landed[-1]
    run_key = first_champion_run_key(newest)
    if instance.get_run_ids(dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1):
        # That attempt failed (its alert said why): the next landed day brings the next one.
        return dg.SkipReason(f"the first champion on {newest} was tried; waiting for a new day")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                partition_key=newest,
                tags={**queue_tags("retrain"), "continual_ml/trigger": "first_champion"},
            )
        ]
    )
