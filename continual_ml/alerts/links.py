"""Links into the Dagster and MLflow UIs, from the public base URLs the settings give.

`CONTINUAL_ML_DAGSTER_UI_URL` and `CONTINUAL_ML_MLFLOW_UI_URL` are read on use, not at import:
`up` and `dagster-dev` set them after a module holding these may be loaded. Plain strings, free
of Dagster, so the service's alerts build them too.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from continual_ml.settings import Settings

# MLflow 3.17's UI picks an experiment's view from the visitor's workflow type, GenAI unless
# they switched (remembered by the browser; the `mlflow.experimentKind` tag no longer counts).
MACHINE_LEARNING_VIEW = "workflowType=machine_learning"


def _dagster_ui() -> str:
    return Settings.from_env().dagster_ui_url.rstrip("/")


def _mlflow_ui() -> str:
    return Settings.from_env().mlflow_ui_url.rstrip("/")


def run_url(run_id: str) -> str:
    """The Dagster run's page."""
    return f"{_dagster_ui()}/runs/{quote(run_id)}"


def asset_partition_url(asset: str, partition: object | None = None) -> str:
    """An asset's page in the Dagster UI, on one partition when given (the query the UI's own
    partition links use: `?partition=` alone shows the latest one)."""
    page = f"{_dagster_ui()}/assets/{quote(asset)}"
    if partition is None:
        return page
    return f"{page}?{urlencode({'view': 'partitions', 'partition': str(partition)})}"


def mlflow_experiment_url(experiment_id: str, mlflow_ui: str | None = None) -> str:
    """The experiment's runs, in MLflow's machine-learning view: the bare experiment page opens
    a first-time visitor on the GenAI overview."""
    return _mlflow_page(f"experiments/{quote(experiment_id)}/runs", mlflow_ui)


def mlflow_run_url(experiment_id: str, run_id: str) -> str:
    """The MLflow run's page (in the machine-learning view: the GenAI one files it under
    "Evaluations")."""
    return _mlflow_page(f"experiments/{quote(experiment_id)}/runs/{quote(run_id)}")


def mlflow_artifact_url(experiment_id: str, run_id: str, path: str) -> str:
    """An artifact of an MLflow run as the MLflow UI shows it (an HTML file rendered in place)."""
    route = f"experiments/{quote(experiment_id)}/runs/{quote(run_id)}/artifacts/{quote(path)}"
    return _mlflow_page(route)


def _mlflow_page(route: str, mlflow_ui: str | None = None) -> str:
    """A page of MLflow's UI (routed after the `#`), in its machine-learning view."""
    return f"{(mlflow_ui or _mlflow_ui()).rstrip('/')}/#/{route}?{MACHINE_LEARNING_VIEW}"


def retrain_links(
    dagster_run_id: str, mlflow_run_id: str, experiment_id: str, partition: object | None = None
) -> dict[str, str]:
    """A finished retrain's links for its alert: its MLflow run, the candidate's page and the
    Dagster run that trained it."""
    links = {"MLflow run": mlflow_run_url(experiment_id, mlflow_run_id)}
    if partition is not None:
        links["Candidate (Dagster)"] = asset_partition_url("candidate_model", partition)
    links["Dagster run"] = run_url(dagster_run_id)
    return links
