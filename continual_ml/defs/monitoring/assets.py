"""Per-partition drift of the current window against the champion's reference window."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from continual_ml import warehouse
from continual_ml.alerts import Alert
from continual_ml.defs.data.assets import (
    WAREHOUSE_POOL,
    current_window,
    partition_day,
    reference_window,
)
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.resources import AlertsResource, ArtifactDirsResource, DatasetResource
from continual_ml.drift import compute_drift


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
    """Evidently data drift of the partition against the reference window, per feature."""
    config, day = dataset.config, partition_day(context)
    html_path = artifact_dirs.report_path(f"drift/{day}.html")
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, config)
        reference = warehouse.read_window(conn, day, "reference")
        current = warehouse.read_window(conn, day, "current")
        windows = {
            name: warehouse.read_rows(conn, "observations", window["start"], window["end"])
            for name, window in (("reference", reference), ("current", current))
        }
        for name, rows in windows.items():
            if rows.empty:
                window = reference if name == "reference" else current
                raise dg.Failure(
                    f"the {name} window {window['start']} .. {window['end']} has no observations;"
                    " materialize those partitions of `observations` first"
                )
        summary = compute_drift(config, windows["reference"], windows["current"], html_path)
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
    top = pd.DataFrame([vars(f) for f in summary.top()])
    if summary.drift_share >= config.policy.drift_share_threshold:
        alerts.send(
            Alert(
                "drift_detected",
                f"Data drift on {day}",
                f"{summary.n_drifted} of {len(summary.features)} features drifted "
                f"(share {summary.drift_share:.2f} ≥ {config.policy.drift_share_threshold}).",
                {f.feature: f"{f.score:.3f} ({f.method})" for f in summary.top() if f.drifted},
            ),
            context.log,
        )
    return dg.MaterializeResult(
        metadata={
            "drift_share": summary.drift_share,
            "n_drifted_features": summary.n_drifted,
            "reference_window": f"{reference['start']} .. {reference['end']}",
            "reference_champion": reference["champion_version"] or "none",
            "top_features": dg.MetadataValue.md(top.to_markdown(index=False, floatfmt=".4f")),
            "report": dg.MetadataValue.path(str(html_path)),
        }
    )
