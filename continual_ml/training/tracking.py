"""What a training run records in MLflow: parameters, the model and its signature, its holdout
scores.

`tracking` is the `mlflow` module, or dagster-mlflow's resource, which offers the same functions
on a run it started (MLflow is imported where it is used: most runs never need it).
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version as package_version

from continual_ml.config import DatasetConfig
from continual_ml.training.pipeline import WindowSplit, own_types


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    experiment_id: str
    registered_version: int


def feature_signature(config: DatasetConfig) -> list[list[str]]:
    """Name and type of each input, categories folded in: what a model's inputs must match."""
    return [
        [f.name, f"{f.kind}{list(f.categories) if f.categories else ''}"] for f in config.features
    ]


@contextmanager
def closed_on_failure(tracking):
    """End the step's MLflow run as FAILED if the step fails before logging it.

    The run is process-wide state: left open, it would be marked RUNNING forever and be taken
    for the active run by the next Dagster run in the same process.
    """
    try:
        yield
    except BaseException:
        tracking.end_run(status="FAILED")
        raise


def log_training_run(
    tracking,
    model,
    split: WindowSplit,
    config: DatasetConfig,
    params: dict,
    artifact: bytes,
    registered_model_name: str,
    dagster_run_url: str,
    metrics: dict[str, float] | None = None,
) -> TrackedRun:
    """Record the run: parameters, window and data hash (and `metrics`, the candidate windows'
    validation scores), the model with its signature and input example, registered in MLflow's
    model registry as `registered_model_name`, a link to the Dagster run that trained it; then
    close the run."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    features = split.train[config.feature_names]
    try:
        tracking.log_params(params)
        if metrics:
            tracking.log_metrics(metrics)
        tracking.set_tags(
            {
                "model_sha256": hashlib.sha256(artifact).hexdigest(),
                "dagster_run_url": dagster_run_url,
            }
        )
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(features, model.predict_proba(features.head(50))),
            input_example=features.head(5),
            serialization_format="skops",
            skops_trusted_types=own_types(artifact),
            registered_model_name=registered_model_name,
            # Stated, not inferred: inference shells out to the package manager on every run.
            pip_requirements=[
                f"scikit-learn=={package_version('scikit-learn')}",
                f"skops=={package_version('skops')}",
            ],
        )
        run = tracking.active_run()
        return TrackedRun(
            run.info.run_id, run.info.experiment_id, int(info.registered_model_version)
        )
    finally:
        # The run belongs to this step alone; close it so the next Dagster run starts fresh.
        tracking.end_run()


def log_evaluation(tracking_uri: str, run_id: str, metrics: dict, plots: dict) -> None:
    """Attach holdout metrics and plots to the candidate's own training run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    for name, value in metrics.items():
        client.log_metric(run_id, f"holdout_{name}", float(value))
    for path in plots.values():
        client.log_artifact(run_id, str(path), artifact_path="evaluation")
