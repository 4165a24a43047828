"""`evaluation_scores` for a regression candidate: both models on the same holdout, stored in
the regression tables, plotted, logged on the candidate's MLflow run, shown in the UI."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.defs.training.evaluation_metadata import headline_scores, role_reports
from continual_ml.models.metric_values import safe_report
from continual_ml.training.regression_evaluation import (
    RegressionEvaluation,
    evaluate_regression_on_holdout,
)
from continual_ml.training.regression_metrics import SCALAR_METRICS
from continual_ml.warehouse.regression_evaluations import replace_regression_evaluation


def evaluate_and_store(
    conn, config: DatasetConfig, day, holdout: pd.DataFrame, candidate: dict, champion
) -> RegressionEvaluation:
    evaluation = evaluate_regression_on_holdout(config, holdout, candidate, champion)
    replace_regression_evaluation(
        conn,
        candidate["version"],
        evaluation.scores.assign(partition_date=day),
        evaluation.holdout,
        safe_report(evaluation.candidate_report),
    )
    return evaluation


def regression_metadata(
    evaluation: RegressionEvaluation, candidate: dict, champion, plots: dict
) -> dict:
    """Plots first (what a person looks for), headline scores, the tables by slice."""
    from continual_ml.training.evaluation import plots_markdown

    headline, undefined = headline_scores(role_reports(evaluation), SCALAR_METRICS)
    scores, columns = evaluation.scores, ["role", "model_version", "n", *SCALAR_METRICS]
    metadata = {
        "plots": dg.MetadataValue.md(plots_markdown(plots)),
        **headline,
        "task": "regression",
        "candidate_version": candidate["version"],
        "champion_version": champion["version"] if champion else "none",
        "n_holdout": len(evaluation.holdout),
        **_interval(evaluation.candidate_report),
        "scores": _markdown(scores[scores["slice"] == "all"][columns]),
        "scores_by_slice": _markdown(scores[["role", "slice", "n", *SCALAR_METRICS]]),
        "mode": "holdout",
    }
    if undefined:
        metadata["undefined_metrics"] = dg.MetadataValue.text("; ".join(undefined))
    return metadata


def _interval(report: dict) -> dict:
    """The candidate's interval as measured on its holdout, when it could be."""
    coverage, width = report.get("interval_coverage"), report.get("interval_width")
    if coverage is None or coverage != coverage:  # NaN: too few rows, said in undefined_metrics
        return {}
    return {
        "candidate_interval_level": report["interval_level"],
        "candidate_interval_coverage": coverage,
        "candidate_interval_width": width,
    }


def _markdown(frame) -> dg.MetadataValue:
    shown = frame.astype(object).where(frame.notna(), None)
    return dg.MetadataValue.md(shown.to_markdown(index=False, floatfmt=".4f", missingval="n/a"))
