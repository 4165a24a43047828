"""Ticks of the landing sensor and of the drift retrain sensor, and a closed prediction log as
the service writes it: shared by the ingestion and sensor tests."""

import dagster as dg

from continual_ml.defs.automation import drift_retrain_sensor
from continual_ml.defs.data.landing_sensors import landing_folder_sensor
from continual_ml.defs.resources import DatasetResource, build_resources
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.serving.prediction_log import RotatingJsonlWriter
from continual_ml_tests.support.ingestion_files import prediction_record


def tick(instance, home, cursor=None):
    from continual_ml.definitions import defs

    resources = build_resources(home)
    context = dg.build_sensor_context(
        instance=instance,
        definitions=defs,
        cursor=cursor,
        resources={"dataset": resources["dataset"], "alerts": resources["alerts"]},
    )
    return landing_folder_sensor.evaluate_tick(context)


def retrain_tick(instance, cursor=None, config_path=""):
    from continual_ml.definitions import defs

    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources={"dataset": DatasetResource(config_path=config_path)},
    )
    return drift_retrain_sensor.evaluate_tick(context)


def closed_prediction_log(home, config, prediction_ids: list[str]) -> None:
    """One closed prediction log, as the service writes it, with these predictions."""
    writer = RotatingJsonlWriter(home.prediction_logs, "predictions")
    row = generate_batch(config, partition_date(config, 0)).iloc[0]
    features = {f: (float(row[f]) if f != "segment" else row[f]) for f in config.feature_names}
    writer.write(
        [
            prediction_record(
                prediction_id,
                features,
                model_version=1,
                probabilities={"0": 0.2, "1": 0.8},
                served_at="2026-01-01T10:00:00+00:00",
                latency_ms=0.5,
            )
            for prediction_id in prediction_ids
        ]
    )
    writer.close()


def run_landing_requests(instance, home, requests) -> list[dict]:
    """Run what the landing sensor asked for, tagged as the daemon tags it; a monitoring run only
    as far as its landing step. The ingestion outcomes, one a file."""
    from continual_ml.app.first_champion import bound_definitions
    from continual_ml.defs.data.assets import observations
    from continual_ml.defs.data.ingestion import ingest_file_job
    from continual_ml.defs.jobs import monitoring_job

    resources, outcomes = build_resources(home), []
    monitoring = bound_definitions(home).resolve_job_def(monitoring_job.name)
    for request in requests:
        tags = {**request.tags, "dagster/run_key": request.run_key}
        if request.job_name == ingest_file_job.name:
            result = ingest_file_job.execute_in_process(
                run_config=request.run_config, resources=resources, instance=instance, tags=tags
            )
            outcomes += result.output_for_node("ingest_landed_file")
            continue
        # The job the daemon would launch (the sensor finds its runs by job name), with only
        # `observations` selected.
        result = monitoring.execute_in_process(
            partition_key=request.partition_key,
            run_config=request.run_config,
            instance=instance,
            tags=tags,
            asset_selection=[observations.key],
        )
        [event] = result.asset_materializations_for_node("observations")[:1]
        outcomes.append({"sources": event.metadata["sources"].value})
    return outcomes
