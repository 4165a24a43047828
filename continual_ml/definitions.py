"""The Dagster code location: every asset, job, sensor and resource of continual-ml."""

import dagster as dg

from continual_ml.defs.automation import drift_retrain_sensor
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.data.checks import observations_are_valid
from continual_ml.defs.data.landing_sensors import landing_folder_sensor, prediction_log_sensor
from continual_ml.defs.monitoring.assets import drift_explanation, drift_report
from continual_ml.defs.monitoring.explanations import drift_explanation_sensor
from continual_ml.defs.monitoring.late_labels import labels, late_labels_sensor
from continual_ml.defs.monitoring.loop_lag_sensor import loop_lag_sensor
from continual_ml.defs.monitoring.performance import model_performance
from continual_ml.defs.monitoring.served_traffic import served_model_performance
from continual_ml.defs.resources import build_resources
from continual_ml.defs.run_health import JOBS, queue_aging_sensor, run_failure_alert
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.defs.training.checks import candidate_beats_champion
from continual_ml.defs.training.first_champion import first_champion_sensor
from continual_ml.defs.training.shadow_sensor import shadow_evidence_sensor

defs = dg.Definitions(
    assets=[
        observations,
        current_window,
        reference_window,
        candidate_model,
        evaluation_scores,
        champion_model,
        drift_report,
        drift_explanation,
        model_performance,
        served_model_performance,
        labels,
    ],
    asset_checks=[observations_are_valid, candidate_beats_champion],
    jobs=JOBS,
    sensors=[
        drift_retrain_sensor,
        first_champion_sensor,
        drift_explanation_sensor,
        run_failure_alert,
        landing_folder_sensor,
        prediction_log_sensor,
        late_labels_sensor,
        queue_aging_sensor,
        loop_lag_sensor,
        shadow_evidence_sensor,
    ],
    resources=build_resources(),
    # Every step in the run's own process, wherever the run's process is: beside the code server,
    # or in a worker's pool process (the scale-out profile's run launcher). The steps that write
    # DuckDB run one after another.
    executor=dg.in_process_executor,
)
