"""Per-partition monitoring of the champion itself: its scores, labels and accuracy."""

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
from continual_ml.defs.metadata import png_markdown
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.ingestion.partition_checks import failed_partitions
from continual_ml.warehouse import registry
from continual_ml.warehouse.labelled_rows import rows_with_labels
from continual_ml.warehouse.schema import apply_schema
from continual_ml.warehouse.sql import insert_row


@dg.asset(
    partitions_def=daily_partitions,
    group_name="monitoring",
    kinds={"sklearn", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[current_window, reference_window, drift_report],
)
def model_performance(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """The champion on this partition: score and label drift, estimated and realized accuracy."""
    # Imported in the step: scikit-learn and matplotlib are slow to import, and every run and
    # sensor process loads this module.
    from continual_ml.monitoring.batch import monitor_batch
    from continual_ml.monitoring.plots import accuracy_history_png
    from continual_ml.training.pipeline import load_model

    config, day = dataset.config, partition_day(context)
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        reference = warehouse.read_window(conn, day, "reference")
        # The model in charge when the partition was monitored: labels landing later re-measure
        # that model, not whichever one is champion by then.
        served = reference["champion_version"]
        champion = registry.load_model_row(conn, served) if served is not None else None
        if champion is None:  # the bootstrap days, before the first model: nothing to monitor
            return dg.MaterializeResult(metadata={"champion_version": "none"})
        current = warehouse.read_window(conn, day, "current")
        monitored = monitor_batch(
            config,
            load_model(champion["artifact"], champion["sha256"]),
            registry.holdout_predictions(conn, champion["version"]),
            # with the newest labels, late ones included; rows still unlabelled are estimated
            rows_with_labels(conn, config, reference["start"], reference["end"]),
            rows_with_labels(conn, config, current["start"], current["end"]),
        )
        row = {"partition_date": day, "champion_version": champion["version"], **monitored.as_row()}
        conn.execute("DELETE FROM performance_history WHERE partition_date = ?", [day])
        insert_row(conn, "performance_history", row)
        validation_passed = day not in failed_partitions(conn, day, day)
        history = conn.execute("SELECT * FROM performance_history ORDER BY partition_date").df()
    if monitored.reliability["unreliable"]:
        alerts.send(
            Alert(
                "drift_detected",
                f"Champion v{champion['version']} estimate unreliable on {day}",
                monitored.reliability["reason"],
                {
                    "realized accuracy": f"{row['realized_accuracy']:.3f}",
                    "estimated accuracy": f"{row['estimated_accuracy']:.3f}",
                },
            ),
            context.log,
        )
    numeric = {
        k: float(v)
        for k, v in row.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and pd.notna(v)
    }
    return dg.MaterializeResult(
        metadata={
            **numeric,
            "estimate_unreliable": bool(row["estimate_unreliable"]),
            "validation_passed": validation_passed,
            "reliability": row["reliability_reason"],
            "accuracy_over_time": png_markdown("accuracy", accuracy_history_png(history)),
        }
    )
