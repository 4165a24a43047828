"""The asset jobs the sensors and the command line launch, and how often sensors tick."""

import dagster as dg

from continual_ml.decisions.queue_aging import PRIORITY
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_explanation, drift_report
from continual_ml.defs.monitoring.performance import model_performance
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.settings import Settings


def priority_tag(kind: str) -> dict[str, str]:
    return {"dagster/priority": str(PRIORITY[kind])}


monitoring_job = dg.define_asset_job(
    "monitoring_job",
    selection=[observations, current_window, reference_window, drift_report, model_performance],
    description="Land a day's batch and measure its drift and the champion's performance.",
    tags=priority_tag("monitoring"),
)
performance_job = dg.define_asset_job(
    "performance_job",
    selection=[model_performance],
    description="Measure the champion on a day again, e.g. when its labels landed late.",
    tags=priority_tag("monitoring"),
)
drift_explanation_job = dg.define_asset_job(
    "drift_explanation_job",
    selection=[drift_explanation],
    description="Render Evidently's HTML drift report for a day already monitored.",
    tags=priority_tag("explanation"),
)
retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=[candidate_model, evaluation_scores, champion_model],
    description="Train a challenger on the recent window, evaluate it and promote it if better.",
    # A crashed or killed retrain runs again (run_retries in dagster.yaml); a candidate the gate
    # refused fails a step and must not, whatever the instance's default says.
    tags={**priority_tag("retrain"), "dagster/retry_on_asset_or_op_failure": "false"},
)

# Sensors tick at most this often (the daemon's loop itself wakes every 5 s or so).
SENSOR_INTERVAL_SECONDS = Settings.from_env().sensor_seconds
