"""What a training run records in MLflow: parameters, the model and its signature, its holdout
scores.

`tracking` is the `mlflow` module, or dagster-mlflow's resource, which offers the same functions
on a run it started (MLflow is imported where it is used: most runs never need it).
"""

from __future__ import annotations

import hashlib
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version as package_version

from continual_ml.config import DatasetConfig
from continual_ml.models.metric_values import finite_scalars, safe_report
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
    # a number per row for a regressor, a probability per class for a classifier
    predict = model.predict if config.regression else model.predict_proba
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
            signature=infer_signature(features, predict(features.head(50))),
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


def log_evaluation(tracking_uri: str, run_id: str, report: dict, plots: dict) -> None:
    """Attach holdout metrics and plots to the candidate's own training run.

    Finite scores become metrics (a multiclass model's per-class ones too, as
    ``holdout_class_<class>_<metric>``); the whole report, JSON-safe with the confusion matrix
    and the reason for each undefined score, goes in ``evaluation/holdout_report.json``.
    """
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    scalars = [name for name, value in report.items() if isinstance(value, float)]
    metrics = {f"holdout_{k}": v for k, v in finite_scalars(report, scalars).items()}
    for entry in report.get("per_class", []):
        label = re.sub(r"[^\w\-. /]", "_", str(entry["class"]))
        scores = finite_scalars(entry, ("precision", "recall", "f1"))
        metrics |= {f"holdout_class_{label}_{k}": v for k, v in scores.items()}
    client = MlflowClient(tracking_uri)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
    client.log_dict(run_id, safe_report(report), "evaluation/holdout_report.json")
    for path in plots.values():
        client.log_artifact(run_id, str(path), artifact_path="evaluation")
