"""`evaluation_scores` on a day with no new candidate: the open challenger scored in shadow.

The challenger is never served: it and the champion score the labelled rows of the days after
the newest it learnt (those landed since the last shadow run, and the run's own day again),
each row stored once per model (`shadow_scores`). With labels late, the days between that and
its own day are unseen by both models and are evidence like any later one.
The running evidence goes to the run's day in the asset's metadata (plotted over partitions in
the UI) and on the challenger's MLflow run (a step per run, at the run's data day), and each
day's comparison to the `evaluation_scores` table (slice ``shadow``).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import dagster as dg
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.decisions import challenger as challengers
from continual_ml.ingestion.partition_checks import failed_partitions
from continual_ml.warehouse.shadow_scores import (
    daily_comparison,
    paired_scores,
    replace_shadow_evaluation,
)

log = logging.getLogger(__name__)
NOT_METRICS = {"candidate_version", "champion_version"}


def score_in_shadow(
    conn, config: DatasetConfig, day: date, challenger: dict, champion: dict
) -> tuple[dict, pd.DataFrame]:
    """Score both on the labelled rows of every day after the challenger's training up to `day`
    (one run takes all the days measured since the last: see `shadow_sensor`); the metadata and
    the per-day comparison so far."""
    # Not from its own day: with labels two days late, the two days before it were never learnt
    # by it (it learnt up to the newest labelled day), and waiting for the days after it cost
    # each challenger two days of evidence.
    first = challengers.unseen_after(conn, challenger) + timedelta(days=1)
    rows = challengers.labelled_days_rows(conn, config, first, day)
    days = pd.to_datetime(rows["partition_date"]).dt.date
    # a day that failed validation is evidence of nothing
    rows = rows[~days.isin(set(failed_partitions(conn, first, day))).to_numpy()]
    for model in (challenger, champion):
        challengers.score_unseen(conn, config, model, _not_scored(conn, model, rows, day))
    metric = config.policy.gate_metric
    daily = daily_comparison(
        paired_scores(conn, challenger["version"], champion["version"], metric)
    )
    verdict = challengers.compare(conn, config, challenger, champion, "champion")
    dates = pd.to_datetime(daily["partition_date"]).dt.date
    for scored_day in sorted({*dates[(dates >= first) & (dates <= day)], day}):
        # each day's own row (and none for a day with no labelled rows yet)
        scored = daily[(dates == scored_day).to_numpy()]
        replace_shadow_evaluation(
            conn, challenger["version"], champion["version"], scored_day, scored
        )
    today = daily[(dates == day).to_numpy()]
    sign = 1 if metric == "accuracy" else -1  # losses shown as losses
    shown = daily.assign(score=sign * daily["score"], other_score=sign * daily["other_score"])
    shown = shown.rename(
        columns={"score": f"challenger_{metric}", "other_score": f"champion_{metric}"}
    )
    metadata = {
        "mode": "shadow",
        "candidate_version": challenger["version"],
        "champion_version": champion["version"],
        "n_shadow_rows": int(today["n"].sum()) if not today.empty else 0,
        "shadow_challenger_accuracy": _first(today, "accuracy"),
        "shadow_champion_accuracy": _first(today, "other_accuracy"),
        "evidence_rows": verdict.n,
        "evidence_days": verdict.days,
        "evidence_mean": verdict.mean,
        "evidence_lower": verdict.lower,
        "evidence_upper": verdict.upper,
        "evidence": verdict.reason,
        "shadow_scores": dg.MetadataValue.md(
            shown.to_markdown(index=False, floatfmt=".4f") if not shown.empty else "no rows yet"
        ),
    }
    return metadata, daily


def _not_scored(conn, model: dict, rows: pd.DataFrame, day: date) -> pd.DataFrame:
    """The rows `model` has no score for yet (labels landed since the last run), and all of
    `day`'s, the run's own (measured again, as one run per day did): each run scores what is
    new, not every row since the challenger's day again."""
    if rows.empty:
        return rows
    scored = conn.execute(
        "SELECT row_id FROM shadow_scores "
        "WHERE model_version = ? AND partition_date BETWEEN ? AND ?",
        [model["version"], pd.to_datetime(rows["partition_date"]).min().date(), day],
    ).df()["row_id"]
    own_day = (pd.to_datetime(rows["partition_date"]).dt.date == day).to_numpy()
    return rows[~rows["row_id"].isin(scored).to_numpy() | own_day]


def _first(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].iloc[0]) if not frame.empty else float("nan")


def log_shadow_day(tracking_uri: str, challenger: dict, day: date, metadata: dict) -> None:
    """The day's shadow figures on the challenger's own MLflow run, at step = data days since it
    was trained. MLflow mirrors the warehouse: a failure is logged and changes nothing."""
    if not challenger.get("mlflow_run_id"):
        return
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    step = (day - challenger["partition_date"]).days
    try:
        client = MlflowClient(tracking_uri)
        for name, value in metadata.items():
            if isinstance(value, int | float) and pd.notna(value) and name not in NOT_METRICS:
                client.log_metric(challenger["mlflow_run_id"], name, float(value), step=step)
    except (MlflowException, OSError) as error:
        log.warning("could not log v%s's shadow day in MLflow: %s", challenger["version"], error)
