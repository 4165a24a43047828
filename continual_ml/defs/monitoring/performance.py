"""Per-partition monitoring of the champion itself: its scores, labels and accuracy."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from continual_ml import warehouse
from continual_ml.alerts.delivery import Alert
from continual_ml.defs.data.assets import current_window, reference_window
from continual_ml.defs.metadata import asset_partition_url, png_markdown, run_url
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.monitoring.monitored_days import days_to_measure
from continual_ml.defs.monitoring.regression_performance import (
    measure_regression_days,
    record_days_metadata,
    unreliable_error_alert,
)
from continual_ml.defs.partitions import (
    partition_days,
    per_day_asset,
)
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.ingestion.partition_checks import failed_partitions
from continual_ml.warehouse import registry
from continual_ml.warehouse.labelled_rows import rows_with_labels
from continual_ml.warehouse.schema import apply_schema


class ServedModels:
    """Each champion's model, holdout and labelled reference rows, loaded once per run."""

    def __init__(self, conn, config):
        self.conn, self.config = conn, config
        self._models, self._rows = {}, {}

    def model(self, version: int) -> tuple[dict, object, pd.DataFrame] | None:
        from continual_ml.training.pipeline import load_model

        if version not in self._models:
            row = registry.load_model_row(self.conn, version)
            self._models[version] = None
            if row is not None:
                model = load_model(row["artifact"], row["sha256"])
                self._models[version] = (
                    row,
                    model,
                    registry.holdout_predictions(self.conn, version),
                )
        return self._models[version]

    def rows(self, window: dict) -> pd.DataFrame:
        key = (window["start"], window["end"])
        if key not in self._rows:
            self._rows[key] = rows_with_labels(self.conn, self.config, *key)
        return self._rows[key]


def _labelled_by_day(conn, config, days) -> dict:
    """Each day's rows with their newest labels, read with one query over the run's days."""
    rows = rows_with_labels(conn, config, days[0], days[-1])
    by_day = dict(tuple(rows.groupby("partition_date", sort=False)))
    return {day: by_day.get(pd.Timestamp(day), rows.iloc[:0]) for day in days}


def _measure_classifier_days(conn, config, days, current: dict, served: ServedModels):
    """Each day's `performance_history` row, recorded; and the days left unmonitored, with why.
    `current` holds each day's rows with their newest labels."""
    from continual_ml.monitoring.batch import monitor_batch

    measured, unmonitored = [], []
    for day, version, reference, rows in days_to_measure(conn, config, days, current, unmonitored):
        champion = served.model(version)
        if champion is None:  # not in the registry
            unmonitored.append((day, {"champion_version": "none"}))
            continue
        row, model, holdout = champion
        monitored = monitor_batch(config, model, holdout, served.rows(reference), rows)
        measured.append({"partition_date": day, "champion_version": version, **monitored.as_row()})
    warehouse.record_performance(conn, measured)
    return measured, unmonitored


@per_day_asset(
    group_name="monitoring",
    kinds={"sklearn", "duckdb"},
    deps=[current_window, reference_window, drift_report],
)
def model_performance(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """The champion on this partition: score and label drift, estimated and realized accuracy
    (for a number: its error, and its interval's coverage)."""
    # Imported in the step: scikit-learn and matplotlib are slow to import, and every run and
    # sensor process loads this module.
    from continual_ml.monitoring.plots import accuracy_history_png

    config, days = dataset.config, partition_days(context)
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        served = ServedModels(conn, config)
        # with the newest labels, late ones included; rows still unlabelled are estimated
        current = _labelled_by_day(conn, config, days)
        measure = measure_regression_days if config.regression else _measure_classifier_days
        measured, unmonitored = measure(conn, config, days, current, served)
        failed = failed_partitions(conn, days[0], days[-1])
        table = "regression_performance" if config.regression else "performance_history"
        history = conn.execute(f"SELECT * FROM {table} ORDER BY partition_date").df()
    if config.regression:  # alerts are sent once the warehouse is closed, as below
        record_days_metadata(context, measured, unmonitored, failed, history)
        if alert := unreliable_error_alert(measured, context.run.run_id):
            alerts.send(alert, context.log)
        return dg.MaterializeResult()
    for day, note in unmonitored:
        context.add_asset_metadata(note, partition_key=str(day))
    # Alerted once labels show it: a multiclass estimate is unreliable before labels when its
    # calibration is poor, every day alike, which the metadata says without an alert a day.
    unreliable = [
        row
        for row in measured
        if row["estimate_unreliable"] and row["realized_accuracy"] is not None
    ]
    if unreliable:
        alerts.send(unreliable_alert(unreliable, context.run.run_id), context.log)
    for row in measured:
        numeric = {
            k: float(v)
            for k, v in row.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and pd.notna(v)
        }
        chart = {}
        if row is measured[-1]:  # the whole history in one chart, on the run's newest day
            chart["accuracy_over_time"] = png_markdown("accuracy", accuracy_history_png(history))
        context.add_asset_metadata(
            {
                **numeric,
                "estimate_unreliable": bool(row["estimate_unreliable"]),
                "validation_passed": row["partition_date"] not in failed,
                "reliability": row["reliability_reason"],
                **chart,
            },
            partition_key=str(row["partition_date"]),
        )
    return dg.MaterializeResult()


def unreliable_alert(rows: list[dict], run_id: str) -> Alert:
    """The champion's estimate could not be trusted on these days (newest named first): its own
    event, since nothing drifted; it links the newest day's measures and the run."""
    newest = rows[-1]
    title = (
        f"Champion v{newest['champion_version']} estimate unreliable on {newest['partition_date']}"
    )
    if len(rows) > 1:
        title += f" and {len(rows) - 1} earlier day(s) of this run"
    return Alert(
        "estimate_unreliable",
        title,
        newest["reliability_reason"],
        {
            "realized accuracy": f"{newest['realized_accuracy']:.3f}",
            "estimated accuracy": f"{newest['estimated_accuracy']:.3f}",
        },
        links={
            f"Model performance {newest['partition_date']} (Dagster)": asset_partition_url(
                "model_performance", newest["partition_date"]
            ),
            "Dagster run": run_url(run_id),
        },
    )
