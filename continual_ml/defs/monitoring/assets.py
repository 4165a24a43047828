"""Per-partition drift of the current window against the champion's reference window."""

from dataclasses import dataclass
from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from continual_ml import warehouse
from continual_ml.defs.data.assets import current_window, reference_window
from continual_ml.defs.metadata import png_markdown
from continual_ml.defs.monitoring.drift_alerts import drift_alert, missing_values_alert
from continual_ml.defs.partitions import (
    multi_writer_warehouse,
    partition_days,
    per_day_asset,
)
from continual_ml.defs.resources import AlertsResource, ArtifactDirsResource, DatasetResource
from continual_ml.monitoring.drift_engine import DriftCheck, build_profile, check_drift
from continual_ml.monitoring.missing_values import missing_value_drift
from continual_ml.monitoring.reference_profiles import load_profile, save_profile
from continual_ml.monitoring.report_samples import ReportSamples, prune_samples, sample
from continual_ml.settings import Settings
from continual_ml.warehouse import registry
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


def reference_profile(conn, config, reference: dict, cache: dict | None = None):
    """The reference window's statistics, computed once per window and kept in DuckDB."""
    profile_id = f"{reference['start']}..{reference['end']}:{reference['n_rows']}"
    if cache is not None and profile_id not in cache:
        cache[profile_id] = reference_profile(conn, config, reference)
    if cache is not None:
        return cache[profile_id]
    try:
        return load_profile(conn, profile_id)
    except KeyError:
        rows = warehouse.read_rows(conn, "observations", reference["start"], reference["end"])
        if rows.empty:
            raise dg.Failure(
                f"the reference window {reference['start']} .. {reference['end']} has no "
                "observations; materialize those partitions of `observations` first"
            ) from None
        profile = build_profile(
            rows,
            numeric_features=[f.name for f in config.features if f.kind == "numeric"],
            categorical_features=[f.name for f in config.features if f.kind != "numeric"],
        )
        save_profile(conn, profile_id, profile)
        return profile


def estimated_impact(conn, config, rows: pd.DataFrame) -> str | None:
    """What the drift likely costs: the champion's CBPE-estimated accuracy on this batch."""
    from continual_ml.monitoring.batch import estimated_accuracy
    from continual_ml.training.pipeline import load_model

    champion = registry.current_champion(conn)
    if champion is None:
        return None
    holdout = registry.holdout_predictions(conn, champion["version"])
    model = load_model(champion["artifact"], champion["sha256"])
    estimate = estimated_accuracy(config, model, holdout, rows)
    promoted = champion["metrics"].get("accuracy")
    baseline = f" vs {promoted:.3f} at promotion" if promoted is not None else ""
    return (
        f"champion v{champion['version']}: estimated accuracy {estimate:.3f} on this batch"
        f"{baseline} (estimate assumes only the inputs moved)"
    )


def samples_folder(artifact_dirs: ArtifactDirsResource):
    return artifact_dirs.report_path("drift/samples")


def save_report_samples(conn, artifact_dirs, measured: list["DayDrift"], current: dict) -> None:
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


def rows_by_day(conn, days: list[date], kind: str = "current") -> dict[date, pd.DataFrame]:
    """Each day's `kind` window rows, read with one query when the windows are the days
    themselves (the current window always is)."""
    windows = {day: warehouse.read_window(conn, day, kind) for day in days}
    if all(w["start"] == w["end"] == day for day, w in windows.items()):
        rows = warehouse.read_rows(conn, "observations", days[0], days[-1])
        by_day = dict(tuple(rows.groupby("partition_date", sort=False)))
        return {day: by_day.get(pd.Timestamp(day), rows.iloc[:0]) for day in days}
    return {day: warehouse.window_rows(conn, day, kind) for day in days}


def drift_verdict(summary: DriftCheck, policy) -> str:
    if not summary.has_verdict:
        return f"none: no feature has {policy.drift_min_rows} values to test"
    drifted = summary.drift_share >= policy.drift_share_threshold
    return "drift" if drifted else "no drift"


@dataclass
class DayDrift:
    day: date
    reference: dict
    summary: DriftCheck
    emptier: list
    scores: pd.DataFrame
    drifting: bool


def measure_day(conn, config, day: date, current_rows: pd.DataFrame, html_path, profiles):
    """Drift of one day's rows against its reference window, recorded in DuckDB."""
    reference = warehouse.read_window(conn, day, "reference")
    profile = reference_profile(conn, config, reference, profiles)
    policy = config.policy
    summary = check_drift(
        profile, current_rows, min_rows=policy.drift_min_rows, noise_alpha=policy.drift_noise_alpha
    )
    # Not part of the drift share (the distribution tests, Evidently's, leave nulls out), but a
    # feature suddenly empty more often is worth a person's look.
    emptier = [m for m in missing_value_drift(profile, current_rows) if m.drifted]
    scores = pd.DataFrame([vars(f) for f in summary.features]).assign(partition_date=day)
    warehouse.record_drift(
        conn,
        day,
        scores,
        reference_start=reference["start"],
        reference_end=reference["end"],
        champion_version=reference["champion_version"],
        n_features=len(summary.features),
        n_drifted=summary.n_drifted,
        drift_share=summary.drift_share,
        html_path=str(html_path),
    )
    drifting = summary.has_verdict and summary.drift_share >= policy.drift_share_threshold
    return DayDrift(day, reference, summary, emptier, scores, drifting)


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
        measured = [
            measure_day(conn, config, d, current[d], html[d], profiles)
            for d in days
            if d not in empty
        ]
        drifting = [m for m in measured if m.drifting]
        # The cost for the newest drifting day only: what a person would act on today.
        impact = estimated_impact(conn, config, current[drifting[-1].day]) if drifting else None
        save_report_samples(conn, artifact_dirs, measured, current)
    threshold = config.policy.drift_share_threshold
    if drifting:
        alerts.send(drift_alert(drifting, len(days), threshold, html, impact, context), context.log)
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
        evidently = compute_drift(config, reference, current, html_path)
        pruned += prune_reports(html_path.parent, KEEP_REPORTS)
        context.add_asset_metadata(
            {
                "report": dg.MetadataValue.path(str(html_path)),
                "evidently_drift_share": evidently.drift_share,
                "evidently_drifted": ", ".join(f.feature for f in evidently.features if f.drifted),
                "sample_rows": len(current),  # sampled above
            },
            partition_key=str(day),
        )
    return dg.MaterializeResult(metadata={"reports_pruned": len(pruned)})
