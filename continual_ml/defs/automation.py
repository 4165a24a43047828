"""Jobs, and the sensors that retrain on drift and report failed runs."""

import dagster as dg

from continual_ml.alerts import Alert
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.monitoring.performance import model_performance
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.defs.training.operations import approval_job, rollback_job

monitoring_job = dg.define_asset_job(
    "monitoring_job",
    selection=[observations, current_window, reference_window, drift_report, model_performance],
    description="Land a day's batch and measure its drift against the champion's reference.",
)
retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=[candidate_model, evaluation_scores, champion_model],
    description="Train a challenger on the recent window, evaluate it and promote it if better.",
)

DRIFT_REPORT = dg.AssetKey("drift_report")


def retrain_run_key(partition: str) -> str:
    return f"drift-retrain-{partition}"


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def drift_retrain_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource
) -> dg.SensorResult:
    """Request a retrain for each new drift report whose drift share crosses the policy."""
    threshold = dataset.config.policy.drift_share_threshold
    # Reads only Dagster's event log: the sensor never opens the DuckDB file a run may be writing.
    records = context.instance.fetch_materializations(
        DRIFT_REPORT, limit=200, cursor=context.cursor, ascending=True
    )
    requests, skipped = [], []
    for record in records.records:
        materialization = record.asset_materialization
        partition = materialization.partition
        share = float(materialization.metadata["drift_share"].value)
        run_key = retrain_run_key(partition)
        if share < threshold:
            skipped.append(f"{partition}: drift share {share:.2f} < threshold {threshold:.2f}")
            continue
        earlier = context.instance.get_run_ids(
            dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1
        )
        if earlier or any(r.run_key == run_key for r in requests):
            skipped.append(f"{partition}: retrain already requested (run key {run_key})")
            continue
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                partition_key=partition,
                tags={"continual_ml/trigger": "drift", "continual_ml/drift_share": f"{share:.3f}"},
            )
        )
    if not records.records:
        skipped.append("no new drift reports since the last tick")
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else "; ".join(skipped),
        cursor=records.cursor or context.cursor,
    )


@dg.run_failure_sensor(
    monitored_jobs=[monitoring_job, retrain_job, rollback_job, approval_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    """Alert when a monitoring or retraining run fails."""
    run = context.dagster_run
    alerts.send(
        Alert(
            "run_failed",
            f"Run of {run.job_name} failed",
            context.failure_event.message or "the run failed",
            {"run id": run.run_id, "partition": run.tags.get("dagster/partition", "-")},
        ),
        context.log,
    )
