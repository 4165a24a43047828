"""The asset jobs the sensors and the command line launch, and how often sensors tick."""

import dagster as dg

from continual_ml.decisions.queue_aging import LANE_TAG, PRIORITY, SHARE_TAG, lane, share
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_explanation, drift_report
from continual_ml.defs.monitoring.performance import model_performance
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.settings import Settings


def queue_tags(kind: str) -> dict[str, str]:
    """Where a kind of work goes in the run queue: its priority, its lane and its share."""
    return {"dagster/priority": str(PRIORITY[kind]), LANE_TAG: lane(kind), SHARE_TAG: share(kind)}


monitoring_job = dg.define_asset_job(
    "monitoring_job",
    selection=[observations, current_window, reference_window, drift_report, model_performance],
    description="Land a day's batch and measure its drift and the champion's performance.",
    tags=queue_tags("monitoring"),
)
performance_job = dg.define_asset_job(
    "performance_job",
    selection=[model_performance],
    description="Measure the champion on a day again, e.g. when its labels landed late.",
    tags=queue_tags("late_labels"),
)
drift_explanation_job = dg.define_asset_job(
    "drift_explanation_job",
    selection=[drift_explanation],
    description="Render Evidently's HTML drift report for a day already monitored.",
    tags=queue_tags("explanation"),
)
retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=[candidate_model, evaluation_scores, champion_model],
    description="Train a challenger on the recent window, evaluate it and promote it if better.",
    # A crashed or killed retrain runs again (run_retries in dagster.yaml); a broken candidate
    # (tampered, another feature signature) fails a step and must not, whatever the instance's
    # default says. A candidate the gate refuses fails nothing: the run succeeds.
    tags={**queue_tags("retrain"), "dagster/retry_on_asset_or_op_failure": "false"},
)

# Sensors tick at most this often.
SENSOR_INTERVAL_SECONDS = Settings.from_env().sensor_seconds
# Dagster's sensor daemon wakes every 5 s and ticks the sensors whose least interval has passed
# since their last tick. An interval of exactly 5 s is then often a few milliseconds short at the
# next wake-up, and the sensor ticks every 10 s instead (measured: every 9.3 s): half a 10-second
# day added to the wait of each landed file. Two seconds of slack let it tick at each wake-up.
DAEMON_SLACK_SECONDS = 2


def sensor_interval(multiple: int = 1) -> int:
    """The least interval to give a sensor meant to tick every `multiple` sensor intervals."""
    return max(1, SENSOR_INTERVAL_SECONDS * multiple - DAEMON_SLACK_SECONDS)


def retrain_sensor(evaluate):
    """A sensor that asks for `retrain_job` runs, ticking every sensor interval from the start."""
    return dg.sensor(
        job=retrain_job,
        minimum_interval_seconds=sensor_interval(),
        default_status=dg.DefaultSensorStatus.RUNNING,
    )(evaluate)
