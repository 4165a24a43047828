"""What `drift_report` tells people: one alert per run, for one day or a whole backfill."""

from pathlib import Path

from continual_ml.alerts.delivery import Alert
from continual_ml.defs.metadata import asset_partition_url, mlflow_artifact_url, run_url

NEWEST_DAYS_LISTED = 10  # a backfill's alert lists the newest drifting days, not a year of them


def _when(days: list, n_days: int) -> str:
    if n_days == 1:
        return f"on {days[0].day}"
    return f"on {len(days)} of {n_days} days ({days[0].day} .. {days[-1].day})"


def report_artifacts(artifact_dirs) -> Path | None:
    """Where a local MLflow store keeps the reports logged to it; a tracking server decides."""
    remote = artifact_dirs.mlflow_tracking_uri.startswith(("http://", "https://"))
    return None if remote else artifact_dirs.report_path("mlflow")


def drift_report_url(artifact_dirs, day, log) -> str:
    """Where the day's Evidently report opens over HTTP: its MLflow run's artifact, which
    `drift_explanation` logs. If MLflow cannot be reached now, the asset's page, which links
    the report once it is rendered."""
    from continual_ml.monitoring.report_runs import REPORT_FILE, drift_report_run

    try:
        experiment_id, run_id = drift_report_run(
            artifact_dirs.mlflow_tracking_uri, day, report_artifacts(artifact_dirs)
        )
    except Exception as error:  # the alert matters more than its best link
        log.warning(f"no MLflow run for the drift report of {day} ({type(error).__name__})")
        return asset_partition_url("drift_explanation", day)
    return mlflow_artifact_url(experiment_id, run_id, REPORT_FILE)


def drift_alert(drifting: list, n_days: int, threshold: float, report_url: str, impact, context):
    """Drift on the run's drifting days (`DayDrift`s, oldest first): per feature for one day,
    per day for a range. `report_url` opens the newest drifting day's Evidently report."""
    newest = drifting[-1]
    if n_days == 1:
        summary = newest.summary
        text = (
            f"{summary.n_drifted} of {len(summary.features)} features drifted "
            f"(share {summary.drift_share:.2f} ≥ {threshold})."
        )
        items = [(f.feature, f"{f.score:.3f} ({f.method})") for f in summary.top() if f.drifted]
        items_title = "Most drifted features"
    else:
        text = f"The drift share reached {threshold} on {len(drifting)} days of this run."
        items = [
            (str(d.day), f"share {d.summary.drift_share:.2f}")
            for d in reversed(drifting[-NEWEST_DAYS_LISTED:])
        ]
        items_title = "Newest drifting days"
    return Alert(
        "drift_detected",
        f"Data drift {_when(drifting, n_days)}",
        text,
        items=items,
        items_title=items_title,
        links={
            f"Drift report {newest.day} (Evidently)": report_url,
            f"Drift scores {newest.day} (Dagster)": asset_partition_url("drift_report", newest.day),
            "Dagster run": run_url(context.run.run_id),
        },
        impact=impact,
        action="the retraining policy decides on the sensor's next tick",
    )


def missing_values_alert(days: list, context) -> Alert:
    """Features missing far more or less often than in the reference, on the days they were."""
    if len(days) == 1:
        title, items = (
            f"Missing values shifted on {days[0].day}",
            [(m.feature, m.describe()) for m in days[0].emptier],
        )
    else:
        title = f"Missing values shifted on {len(days)} days ({days[0].day} .. {days[-1].day})"
        items = [
            (str(d.day), ", ".join(m.feature for m in d.emptier))
            for d in reversed(days[-NEWEST_DAYS_LISTED:])
        ]
    n_features = len({m.feature for d in days for m in d.emptier})
    return Alert(
        "drift_detected",
        title,
        f"{n_features} features are missing far more or less often than in the reference "
        "window (not counted in the drift share).",
        items=items,
        items_title="Missing values",
        links={
            f"Missing values {days[-1].day} (Dagster)": asset_partition_url(
                "drift_report", days[-1].day
            ),
            "Dagster run": run_url(context.run.run_id),
        },
    )
