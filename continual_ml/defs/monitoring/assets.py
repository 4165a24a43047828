"""Per-partition drift of the current window against the champion's reference window."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from continual_ml import warehouse
from continual_ml.alerts.delivery import Alert
from continual_ml.defs.data.assets import (
    WAREHOUSE_POOL,
    current_window,
    partition_day,
    reference_window,
)
from continual_ml.defs.metadata import png_markdown, run_url
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.resources import AlertsResource, ArtifactDirsResource, DatasetResource
from continual_ml.monitoring.drift_engine import build_profile, check_drift
from continual_ml.monitoring.missing_values import missing_value_drift
from continual_ml.monitoring.reference_profiles import load_profile, save_profile
from continual_ml.settings import Settings
from continual_ml.warehouse import registry
from continual_ml.warehouse.schema import apply_schema

# Evidently renders the human-readable report; on big batches a seeded sample keeps it quick.
REPORT_SAMPLE_ROWS = 5000
# The newest Evidently reports kept on disk (by day); `CONTINUAL_ML_KEEP_REPORTS` changes it.
KEEP_REPORTS = Settings.from_env().keep_reports
# The report is explained as soon as no run is busy with its partition, in any partition (not
# only the newest day, as `eager` alone would), after the runs the loop is waiting for.
EXPLAIN_WHEN_REPORTED = dg.AutomationCondition.eager().without(
    dg.AutomationCondition.in_latest_time_window()
)


def reference_profile(conn, config, reference: dict):
    """The reference window's statistics, computed once per window and kept in DuckDB."""
    profile_id = f"{reference['start']}..{reference['end']}:{reference['n_rows']}"
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


def _sample(rows: pd.DataFrame) -> pd.DataFrame:
    if len(rows) <= REPORT_SAMPLE_ROWS:
        return rows
    return rows.sample(n=REPORT_SAMPLE_ROWS, random_state=0)


@dg.asset(
    partitions_def=daily_partitions,
    group_name="monitoring",
    kinds={"evidently", "duckdb"},
    pool=WAREHOUSE_POOL,
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
    config, day = dataset.config, partition_day(context)
    html_path = artifact_dirs.report_path(f"drift/{day}.html")
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        reference = warehouse.read_window(conn, day, "reference")
        current_rows = warehouse.window_rows(conn, day, "current")
        if current_rows.empty:
            raise dg.Failure(f"no observations for {day}; materialize `observations` first")
        profile = reference_profile(conn, config, reference)
        summary = check_drift(profile, current_rows)
        # Not part of the drift share (the distribution tests, Evidently's, leave nulls out),
        # but a feature suddenly empty more often is worth a person's look.
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
        drifting = summary.drift_share >= config.policy.drift_share_threshold
        impact = estimated_impact(conn, config, current_rows) if drifting else None
    top = pd.DataFrame([vars(f) for f in summary.top()])
    from continual_ml.monitoring.plots import feature_drift_png

    if drifting:
        alerts.send(
            Alert(
                "drift_detected",
                f"Data drift on {day}",
                f"{summary.n_drifted} of {len(summary.features)} features drifted "
                f"(share {summary.drift_share:.2f} ≥ {config.policy.drift_share_threshold}).",
                items=[
                    (f.feature, f"{f.score:.3f} ({f.method})") for f in summary.top() if f.drifted
                ],
                items_title="Most drifted features",
                links={
                    "Drift report (drift_explanation)": str(html_path),
                    "Dagster run": run_url(context.run.run_id),
                },
                impact=impact,
                action="the retraining policy decides on the sensor's next tick",
            ),
            context.log,
        )
    if emptier:
        alerts.send(
            Alert(
                "drift_detected",
                f"Missing values shifted on {day}",
                f"{len(emptier)} features are missing far more or less often than in the "
                "reference window (not counted in the drift share).",
                items=[(m.feature, m.describe()) for m in emptier],
                items_title="Missing values",
                links={"Dagster run": run_url(context.run.run_id)},
            ),
            context.log,
        )
    return dg.MaterializeResult(
        metadata={
            "drift_share": summary.drift_share,
            "missing_value_shifts": "; ".join(f"{m.feature}: {m.describe()}" for m in emptier)
            or "none",
            "n_drifted_features": summary.n_drifted,
            "reference_window": f"{reference['start']} .. {reference['end']}",
            "reference_champion": reference["champion_version"] or "none",
            "top_features": dg.MetadataValue.md(top.to_markdown(index=False, floatfmt=".4f")),
            **{f"drift_score/{f.feature}": float(f.score) for f in summary.features},
            "feature_drift": png_markdown(
                "feature drift",
                feature_drift_png(scores, config.policy.drift_share_threshold),
            ),
            "report": dg.MetadataValue.path(str(html_path)),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="monitoring",
    kinds={"evidently", "html"},
    pool=WAREHOUSE_POOL,
    deps=[drift_report],
    automation_condition=EXPLAIN_WHEN_REPORTED,
)
def drift_explanation(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
) -> dg.MaterializeResult:
    """Evidently's HTML drift report for the partition, for people to read."""
    # Kept out of `drift_report`, and so out of the runs the retraining loop waits for:
    # importing and running Evidently takes seconds, and the verdict does not need it.
    from continual_ml.monitoring.evidently_report import compute_drift, prune_reports

    config, day = dataset.config, partition_day(context)
    html_path = artifact_dirs.report_path(f"drift/{day}.html")
    with duckdb.get_connection() as conn:
        reference_rows = warehouse.window_rows(conn, day, "reference")
        current_rows = warehouse.window_rows(conn, day, "current")
    evidently = compute_drift(config, _sample(reference_rows), _sample(current_rows), html_path)
    pruned = prune_reports(html_path.parent, KEEP_REPORTS)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(html_path)),
            "evidently_drift_share": evidently.drift_share,
            "evidently_drifted": ", ".join(f.feature for f in evidently.features if f.drifted),
            "sample_rows": min(len(current_rows), REPORT_SAMPLE_ROWS),
            "reports_pruned": len(pruned),
        }
    )
