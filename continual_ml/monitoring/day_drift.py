"""One day's drift against its reference window, recorded in DuckDB, and what it likely costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from continual_ml import warehouse
from continual_ml.monitoring.drift_engine import DriftCheck, build_profile, check_drift
from continual_ml.monitoring.missing_values import missing_value_drift
from continual_ml.monitoring.reference_profiles import load_profile, save_profile
from continual_ml.warehouse import registry


class NoReferenceRows(LookupError):
    """The reference window holds no observations to measure drift against."""


@dataclass
class DayDrift:
    day: date
    reference: dict
    summary: DriftCheck
    emptier: list
    scores: pd.DataFrame
    drifting: bool


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
            raise NoReferenceRows(
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


def rows_by_day(conn, days: list[date], kind: str = "current") -> dict[date, pd.DataFrame]:
    """Each day's `kind` window rows, read with one query when the windows are the days
    themselves (the current window always is)."""
    windows = {day: warehouse.read_window(conn, day, kind) for day in days}
    if all(w["start"] == w["end"] == day for day, w in windows.items()):
        rows = warehouse.read_rows(conn, "observations", days[0], days[-1])
        by_day = dict(tuple(rows.groupby("partition_date", sort=False)))
        return {day: by_day.get(pd.Timestamp(day), rows.iloc[:0]) for day in days}
    return {day: warehouse.window_rows(conn, day, kind) for day in days}


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


def drift_verdict(summary: DriftCheck, policy) -> str:
    """The day's verdict in words; none when no feature had enough values to test."""
    if not summary.has_verdict:
        return f"none: no feature has {policy.drift_min_rows} values to test"
    drifted = summary.drift_share >= policy.drift_share_threshold
    return "drift" if drifted else "no drift"


def estimated_impact(conn, config, rows: pd.DataFrame) -> str | None:
    """What the drift likely costs: the champion's CBPE-estimated accuracy on this batch (for a
    number, its estimated MAE)."""
    from continual_ml.monitoring.batch import estimated_accuracy
    from continual_ml.training.pipeline import load_model

    champion = registry.current_champion(conn)
    if champion is None:
        return None
    model = load_model(champion["artifact"], champion["sha256"])
    if config.regression:  # a number's cost is its error, estimated as monitoring does
        return _estimated_error(conn, config, champion, model, rows)
    holdout = registry.holdout_predictions(conn, champion["version"])
    estimate = estimated_accuracy(config, model, holdout, rows)
    promoted = champion["metrics"].get("accuracy")
    baseline = f" vs {promoted:.3f} at promotion" if promoted is not None else ""
    return (
        f"champion v{champion['version']}: estimated accuracy {estimate:.3f} on this batch"
        f"{baseline} (estimate assumes only the inputs moved)"
    )


def _estimated_error(conn, config, champion: dict, model, rows: pd.DataFrame) -> str:
    """The regression champion's MAE on this batch from its direct loss estimator."""
    from continual_ml.monitoring.loss_estimation import estimate_loss
    from continual_ml.monitoring.regression_batch import regression_champion
    from continual_ml.warehouse.regression_monitoring import holdout_with_features

    version, features = champion["version"], rows[config.feature_names]
    holdout = holdout_with_features(conn, version)
    built = regression_champion(config, version, model, holdout, len(rows))
    if built.estimator is None:
        return f"champion v{version}: {built.note}"
    estimate = estimate_loss(built.estimator, features, model.predict(features))
    if estimate.mae is None:
        return f"champion v{version}: no rows to estimate its error on"
    promoted = champion["metrics"].get("mae")
    baseline = f" vs {promoted:.3f} at promotion" if promoted is not None else ""
    return (
        f"champion v{version}: estimated MAE {estimate.mae:.3f} on this batch{baseline} "
        "(estimate assumes only the inputs moved)"
    )
