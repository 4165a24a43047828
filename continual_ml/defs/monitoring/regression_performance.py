"""`model_performance` for a regression champion: its numbers' and the target's drift, realized
and estimated error, and its interval's coverage, per partition (`monitoring.regression_batch`)."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd

from continual_ml.defs.monitoring.monitored_days import days_to_measure
from continual_ml.warehouse import registry
from continual_ml.warehouse.regression_evaluations import regression_holdout
from continual_ml.warehouse.regression_monitoring import (
    holdout_with_features,
    labelled_days_of,
    record_regression_performance,
)


class RegressionChampions:
    """Each champion as monitoring uses it, built once per run (its estimator is a fit)."""

    def __init__(self, conn, config):
        self.conn, self.config, self._built = conn, config, {}

    def get(self, version: int, batch_rows: int):
        from continual_ml.monitoring.regression_batch import regression_champion
        from continual_ml.training.pipeline import load_model

        if version not in self._built:
            row = registry.load_model_row(self.conn, version)
            model = load_model(row["artifact"], row["sha256"])
            holdout = holdout_with_features(self.conn, version)
            self._built[version] = regression_champion(
                self.config,
                version,
                model,
                holdout,
                batch_rows,
                calibration_rows=regression_holdout(self.conn, version),
            )
        return self._built[version]


def measure_regression_days(conn, config, days, current: dict, served) -> tuple[list, list]:
    """Each day's `regression_performance` row, recorded; and the days left unmonitored, with
    why. `current` holds each day's rows with their newest labels; `served.rows` reads a
    window's (`performance.ServedModels`)."""
    from continual_ml.monitoring.regression_batch import monitor_regression_batch

    champions = RegressionChampions(conn, config)
    measured, unmonitored, notes = [], [], {}
    for day, version, reference, rows in days_to_measure(conn, config, days, current, unmonitored):
        champion = champions.get(version, len(rows))
        notes[version] = champion.note
        monitored = monitor_regression_batch(config, champion, served.rows(reference), rows)
        row = {"partition_date": day, "champion_version": version, **monitored.as_row()}
        row["realized_error"] = monitored.policy_error(monitored.realized)
        row["estimated_error"] = monitored.policy_error(monitored.estimated)
        measured.append(row)
    stored = ("realized_error", "estimated_error")
    record_regression_performance(
        conn, [{k: v for k, v in row.items() if k not in stored} for row in measured]
    )
    for version in {row["champion_version"] for row in measured}:
        reliability = _estimate_record(conn, version)
        for row in measured:
            if row["champion_version"] == version:
                row.update(reliability, monitoring_note=notes[version] or "none")
    return measured, unmonitored


def _estimate_record(conn, version: int) -> dict:
    """How the champion's estimate compared with realized over its labelled days so far."""
    from continual_ml.monitoring.loss_estimation import EstimateCheck, estimate_reliability

    days = labelled_days_of(conn, version)
    if days.empty or days["estimate_tolerance"].isna().all():
        return {"estimate_reliable": "no labelled day yet"}
    checks = [
        EstimateCheck(
            int(d.n_labelled),
            d.estimated_mae,
            d.realized_mae,
            d.estimated_rmse,
            d.realized_rmse,
            d.estimate_relative_error,
            bool(d.estimate_within_tolerance),
        )
        for d in days.itertuples()
    ]
    record = estimate_reliability(checks, float(days["estimate_tolerance"].iloc[-1]))
    return {
        "estimate_reliable": bool(record.reliable),
        "estimate_days_labelled": record.days,
        "estimate_days_beyond_tolerance": record.days_beyond_tolerance,
        "estimate_mean_abs_error_mae": record.mean_absolute_error_mae,
    }


def day_metadata(row: dict, validation_passed: bool) -> dict:
    """A day's `model_performance` metadata: numbers the policy and people read, and text."""
    metadata = {
        "task": "regression",
        "validation_passed": validation_passed,
        "monitoring_note": row.get("monitoring_note", "none"),
    }
    for key, value in row.items():
        if isinstance(value, bool | np.bool_) or key == "estimate_reliable":
            metadata[key] = value if isinstance(value, str) else bool(value)
        elif isinstance(value, int | float) and pd.notna(value):
            metadata[key] = float(value)
    metadata["error_metric"] = row["error_metric"]
    return metadata


def record_days_metadata(
    context: dg.AssetExecutionContext, measured, unmonitored, failed, history: pd.DataFrame
):
    """Each day's metadata; the newest also charts the whole history (`regression_performance`)."""
    from continual_ml.defs.metadata import png_markdown
    from continual_ml.monitoring.plots import error_history_png

    for day, note in unmonitored:
        context.add_asset_metadata(note, partition_key=str(day))
    for row in measured:
        day = row["partition_date"]
        metadata = day_metadata(row, day not in failed)
        if row is measured[-1] and not history.empty:
            metadata["error_over_time"] = png_markdown("error", error_history_png(history))
        context.add_asset_metadata(metadata, partition_key=str(day))


def unreliable_error_alert(rows: list[dict], run_id: str):
    """The champion's error estimate is off on more labelled days than chance allows, and
    beyond its tolerance on the day named (the newest such): its own event, linking the day's
    measures and the run; None otherwise, so a record that stays unreliable alerts on the days
    that add to it, not on every run."""
    from continual_ml.alerts.delivery import Alert
    from continual_ml.defs.metadata import asset_partition_url, run_url

    unreliable = [
        r
        for r in rows
        if r.get("estimate_reliable") is False and r.get("estimate_within_tolerance") is False
    ]
    if not unreliable:
        return None
    newest = unreliable[-1]
    version, day = newest["champion_version"], newest["partition_date"]
    return Alert(
        "estimate_unreliable",
        f"Champion v{version} error estimate unreliable on {day}",
        f"the estimate before labels missed the realized MAE beyond its tolerance on "
        f"{newest['estimate_days_beyond_tolerance']} of {newest['estimate_days_labelled']} "
        "labelled days, more than chance allows: the concept may have moved",
        {
            "realized MAE": f"{newest['realized_mae']:.4g}",
            "estimated MAE": f"{newest['estimated_mae']:.4g}",
        },
        links={
            f"Model performance {day} (Dagster)": asset_partition_url("model_performance", day),
            "Dagster run": run_url(run_id),
        },
    )
