"""Evidently's drift reports as MLflow artifacts, so a person opens them over HTTP.

One MLflow run per monitored day, in an experiment of its own (the training runs keep theirs),
found by its day tag: `drift_report` opens it when it alerts, so the alert can link the report
before `drift_explanation` has rendered it, and `drift_explanation` logs the HTML into the same
run. Rendering a day again replaces its report under the same link.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

MONITORING_EXPERIMENT = "continual-ml-monitoring"
REPORT_FILE = "drift_report.html"
DAY_TAG = "drift_day"
# The kind MLflow's header shows (MLflow 3.17 opens the view the link names: see
# alerts.links); this experiment holds plain runs.
_KIND_TAGS = {"mlflow.experimentKind": "custom_model_development"}


def _client(tracking_uri: str):
    from mlflow.tracking import MlflowClient  # imported on use: most runs never need it

    return MlflowClient(tracking_uri)


def _experiment_id(client, artifacts: Path | None) -> str:
    experiment = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    # Beside the other state for a local store; a tracking server chooses its own place.
    location = artifacts.resolve().as_uri() if artifacts is not None else None
    try:
        return client.create_experiment(
            MONITORING_EXPERIMENT, artifact_location=location, tags=_KIND_TAGS
        )
    except Exception:  # another run created it meanwhile
        experiment = client.get_experiment_by_name(MONITORING_EXPERIMENT)
        if experiment is None:
            raise
        return experiment.experiment_id


def drift_report_run(tracking_uri: str, day: date, artifacts: Path | None) -> tuple[str, str]:
    """The (experiment id, run id) of the day's report run, opened if there is none yet."""
    client = _client(tracking_uri)
    experiment_id = _experiment_id(client, artifacts)
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{DAY_TAG} = '{day.isoformat()}'",
        order_by=["attributes.start_time ASC"],
        max_results=1,
    )
    if found:
        return experiment_id, found[0].info.run_id
    run = client.create_run(
        experiment_id, run_name=f"drift {day.isoformat()}", tags={DAY_TAG: day.isoformat()}
    )
    client.set_terminated(run.info.run_id)  # a record, not a process: nothing left running
    return experiment_id, run.info.run_id


def log_drift_report(
    tracking_uri: str, day: date, html_path: Path, artifacts: Path | None
) -> tuple[str, str]:
    """Log the day's rendered report (as REPORT_FILE) into its run; its (experiment, run) ids."""
    experiment_id, run_id = drift_report_run(tracking_uri, day, artifacts)
    client = _client(tracking_uri)
    if html_path.name == REPORT_FILE:
        client.log_artifact(run_id, str(html_path))
    else:  # the run holds one report under one name, whatever the file is called on disk
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            named = Path(folder) / REPORT_FILE
            shutil.copyfile(html_path, named)
            client.log_artifact(run_id, str(named))
    return experiment_id, run_id
