"""Per-partition drift of the current window against the champion's reference window."""

from functools import partial

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from continual_ml import warehouse
from continual_ml.defs.data.assets import current_window, reference_window
from continual_ml.defs.metadata import mlflow_artifact_url, png_markdown
from continual_ml.defs.monitoring.drift_alerts import (
    drift_alert,
    drift_report_url,
    missing_values_alert,
    report_artifacts,
)
from continual_ml.defs.partitions import (
    multi_writer_warehouse,
    partition_days,
    per_day_asset,
)
from continual_ml.defs.resources import AlertsResource, ArtifactDirsResource, DatasetResource
from continual_ml.monitoring.day_drift import (
    DayDrift,
    NoReferenceRows,
    drift_verdict,
    estimated_impact,
    measure_day,
    rows_by_day,
)
from continual_ml.monitoring.report_samples import ReportSamples, prune_samples, sample
from continual_ml.settings import Settings
from continual_ml.warehouse.schema import apply_schema

# The newest Evidently reports kept on disk (by day); `CONTINUAL_ML_KEEP_REPORTS` changes it.
# Only those are rendered: a run over a longer range (a backfill of a year's history) renders
# the newest KEEP_REPORTS days of it, since older ones would be pruned at once. Every day still
# gets its drift verdict and scores (`drift_report`, from the drift engine, milliseconds a day);
# Evidently takes seconds a day, which over a year would be most of the backfill.
KEEP_REPORTS = Settings.from_env().keep_reports
# Per-feature drift charts in `drift_report`'s metadata, for the newest week of a run: a chart
# (0.2 s) costs 20 times the day's drift check, and the scores are in every day's metadata.
CHARTED_DAYS = 7


def samples_folder(artifact_dirs: ArtifactDirsResource):
    return artifact_dirs.report_path("drift/samples")


def save_report_samples(conn, artifact_dirs, measured: list[DayDrift], current: dict) -> None:
    """The rows `drift_explanation` renders from, for the days it will render: written while
    monitoring holds the warehouse, so rendering never has to."""
    folder, references = samples_folder(artifact_dirs), {}
    for m in measured[-KEEP_REPORTS:]:
        # The window measure_day read; the days of a run mostly share one.
        window = (m.reference["start"], m.reference["end"])
        if window not in references:
            references[window] = warehouse.read_rows(conn, "observations", *window)
        ReportSamples(folder, m.day).save(references[window], current[m.day])
    prune_samples(folder, KEEP_REPORTS)


@per_day_asset(
    group_name="monitoring",
    kinds={"evidently", "duckdb"},
    deps=[current_window, reference_window],
)
def drift_report(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """Data drift of the partition against the reference window, per feature, with its report."""
    from continual_ml.monitoring.plots import feature_drift_png

    config, days = dataset.config, partition_days(context)
    html = {day: artifact_dirs.report_path(f"drift/{day}.html") for day in days}
    profiles: dict = {}
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        current = rows_by_day(conn, days)
        empty = [day for day in days if current[day].empty]
        if len(empty) == len(days):
            raise dg.Failure(f"no observations for {empty[0]}; materialize `observations` first")
        # In a run over several days, one whose file was quarantined whole does not hold back
        # the others: it is said so, and the policy reads no drift share for it.
        try:
            measured = [
                measure_day(conn, config, d, current[d], html[d], profiles)
                for d in days
                if d not in empty
            ]
        except NoReferenceRows as missing:
            raise dg.Failure(str(missing)) from None
        drifting = [m for m in measured if m.drifting]
        # The cost for the newest drifting day only: what a person would act on today.
        impact = estimated_impact(conn, config, current[drifting[-1].day]) if drifting else None
        save_report_samples(conn, artifact_dirs, measured, current)
    threshold = config.policy.drift_share_threshold
    if drifting:
        report_url = drift_report_url(artifact_dirs, drifting[-1].day, context.log)
        alert = drift_alert(drifting, len(days), threshold, report_url, impact, context)
        alerts.send(alert, context.log)
    if emptier := [m for m in measured if m.emptier]:
        alerts.send(missing_values_alert(emptier, context), context.log)
    for day in empty:
        context.add_asset_metadata(
            {"observations": "none: nothing measured"}, partition_key=str(day)
        )
    for index, m in enumerate(measured):
        summary = m.summary
        top = pd.DataFrame([vars(f) for f in summary.top()])
        chart = {}
        if index >= len(measured) - CHARTED_DAYS:
            chart["feature_drift"] = png_markdown(
                "feature drift", feature_drift_png(m.scores, threshold)
            )
        context.add_asset_metadata(
            {
                "drift_share": summary.drift_share,
                # the retraining policy reads no drift from a day with no tested feature
                "n_tested_features": summary.n_tested,
                "drift_verdict": drift_verdict(summary, config.policy),
                "missing_value_shifts": "; ".join(f"{e.feature}: {e.describe()}" for e in m.emptier)
                or "none",
                "n_drifted_features": summary.n_drifted,
                "reference_window": f"{m.reference['start']} .. {m.reference['end']}",
                "reference_champion": m.reference["champion_version"] or "none",
                "top_features": dg.MetadataValue.md(top.to_markdown(index=False, floatfmt=".4f")),
                **{f"drift_score/{f.feature}": float(f.score) for f in summary.features},
                **chart,
                "report": dg.MetadataValue.path(str(html[m.day])),
            },
            partition_key=str(m.day),
        )
    return dg.MaterializeResult()


@per_day_asset(
    group_name="monitoring",
    kinds={"evidently", "html"},
    deps=[drift_report],
    writes_warehouse=False,
)
def drift_explanation(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
) -> dg.MaterializeResult:
    """Evidently's HTML drift report for the partition, for people to read."""
    # Kept out of `drift_report`, and so out of the runs the retraining loop waits for:
    # importing and running Evidently takes seconds, and the verdict does not need it. It reads
    # the samples `drift_report` left, not the DuckDB file, so it holds no warehouse slot and
    # landed days never wait behind it. DuckLake takes readers from any process: on workers,
    # which do not share a reports folder, the rows come from the warehouse when no sample is here.
    from continual_ml.monitoring.evidently_report import compute_drift, prune_reports
    from continual_ml.monitoring.low_priority import at_low_priority

    config, days = dataset.config, partition_days(context)
    rendered = days[-KEEP_REPORTS:]
    for day in days[: len(days) - len(rendered)]:
        context.add_asset_metadata(
            {"report": f"not rendered: older than the newest {KEEP_REPORTS} days of its run"},
            partition_key=str(day),
        )
    pruned, folder = [], samples_folder(artifact_dirs)
    for day in rendered:
        samples = ReportSamples(folder, day).load()
        if samples is None and multi_writer_warehouse():
            with duckdb.get_connection() as conn:
                reference = warehouse.window_rows(conn, day, "reference")
                samples = reference, rows_by_day(conn, [day])[day]
        if samples is None:
            context.add_asset_metadata(
                {
                    "report": "not rendered: no sample of its rows; `drift_report` keeps one for "
                    f"the newest {KEEP_REPORTS} days it measured (materialize it again)"
                },
                partition_key=str(day),
            )
            continue
        reference, current = (sample(rows) for rows in samples)
        html_path = artifact_dirs.report_path(f"drift/{day}.html")
        # for people, not the loop: the CPU the other lanes' runs leave (`queue_aging`)
        evidently = at_low_priority(partial(compute_drift, config, reference, current, html_path))
        pruned += prune_reports(html_path.parent, KEEP_REPORTS)
        context.add_asset_metadata(
            {
                "report": dg.MetadataValue.path(str(html_path)),
                "report_url": _logged_report(artifact_dirs, day, html_path, context.log),
                "evidently_drift_share": evidently.drift_share,
                "evidently_drifted": ", ".join(f.feature for f in evidently.features if f.drifted),
                "sample_rows": len(current),  # sampled above
            },
            partition_key=str(day),
        )
    return dg.MaterializeResult(metadata={"reports_pruned": len(pruned)})


def _logged_report(artifact_dirs, day, html_path, log) -> dg.MetadataValue | str:
    """The report logged to its MLflow run, as the link people open it by; a failure to log
    leaves the report on disk and says why, without failing the render."""
    from continual_ml.monitoring.report_runs import REPORT_FILE, log_drift_report

    try:
        ids = log_drift_report(
            artifact_dirs.mlflow_tracking_uri, day, html_path, report_artifacts(artifact_dirs)
        )
    except Exception as error:
        # The error's text may hold the tracking URI, credentials and all: its kind only.
        log.warning(f"the drift report of {day} was not logged to MLflow ({type(error).__name__})")
        return f"not logged to MLflow ({type(error).__name__})"
    return dg.MetadataValue.url(mlflow_artifact_url(*ids, REPORT_FILE))
