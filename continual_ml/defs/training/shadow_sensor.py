"""The shadow job and its sensor: the open challenger scored on the days monitoring measured."""

import dagster as dg

from continual_ml.defs.jobs import queue_tags, sensor_interval
from continual_ml.defs.training.assets import champion_model, evaluation_scores

MODEL_PERFORMANCE = dg.AssetKey("model_performance")
LOOKBACK = 400  # model_performance events read per tick: more than a challenger's horizon
CHALLENGER_TAG = "continual_ml/challenger"  # on a shadow run: the challenger it scores
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

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


def shadow_run_in_flight(instance, version: int) -> bool:
    """Whether a shadow run of challenger `version` is queued or running."""
    runs = instance.get_runs(
        dg.RunsFilter(
            job_name=shadow_job.name,
            statuses=IN_FLIGHT,
            tags={CHALLENGER_TAG: str(version)},
        ),
        limit=1,
    )
    return bool(runs)


@dg.sensor(
    job=shadow_job,
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def shadow_evidence_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One shadow run at a time for the open challenger, over every day monitored after it was
    trained: asked for when a day is measured (or measured again, when late labels land) and no
    shadow run of it is queued or running; that run scores all the days measured since."""
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
    after = {day: event for day, event in newest.items() if day > trained_for}
    if not after:
        return dg.SensorResult(skip_reason=f"no day monitored after v{version}'s {trained_for}")
    # One at a time: with days landing every few seconds, a run per day filled the background
    # lane ahead of the prediction logs (23 queued under load). The run in flight may have read
    # its rows before the newest measurement: the next tick after it asks again.
    if shadow_run_in_flight(context.instance, version):
        return dg.SensorResult(skip_reason=f"a shadow run of v{version} is queued or running")
    # The newest measurement names the run: Dagster launches each once, whatever the ticks.
    day, event = max(after), max(after.values())
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"shadow-v{version}-{day}-{event}",
                partition_key=day,
                tags={
                    **queue_tags("retrain"),
                    "continual_ml/trigger": "shadow",
                    CHALLENGER_TAG: str(version),
                },
            )
        ]
    )
