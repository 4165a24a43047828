"""What an `evaluation_scores` event shows: headline scores, tables, plots, and why a score is
missing. Dagster stores metadata as JSON, so an undefined score is left out of the numbers and
named, with its reason, in ``undefined_metrics``."""

from __future__ import annotations

import dagster as dg

from continual_ml.models.metric_values import finite_scalars, undefined_reasons
from continual_ml.training.class_tables import confusion_matrix_markdown, per_class_markdown
from continual_ml.training.evaluation import HoldoutEvaluation, plots_markdown

HEADLINE = ("accuracy", "f1", "roc_auc", "log_loss", "brier", "ece")


def role_reports(evaluation) -> dict[str, dict]:
    """The candidate's report, and the champion's if there is one, by role."""
    reports = {"candidate": evaluation.candidate_report}
    if evaluation.champion_report is not None:
        reports["champion"] = evaluation.champion_report
    return reports


def headline_scores(reports: dict[str, dict], names) -> tuple[dict, list[str]]:
    """The scores among `names` that are numbers, as ``<role>_<name>``, and a line for each
    undefined score, with its reason."""
    headline, undefined = {}, []
    for role, report in reports.items():
        headline |= {f"{role}_{k}": v for k, v in finite_scalars(report, names).items()}
        undefined += [f"{role} {k}: {why}" for k, why in undefined_reasons(report).items()]
    return headline, undefined


def evaluation_metadata(evaluation: HoldoutEvaluation, candidate: dict, champion, plots) -> dict:
    reports = role_reports(evaluation)
    headline, undefined = headline_scores(reports, HEADLINE)
    overall = evaluation.scores[evaluation.scores["slice"] == "all"]
    metadata = {
        # First: the UI lists entries in this order, and the plots are what a person looks for.
        "plots": dg.MetadataValue.md(plots_markdown(plots)),
        **headline,
        "candidate_version": candidate["version"],
        "champion_version": champion["version"] if champion else "none",
        "n_holdout": len(evaluation.holdout),
        "scores": _markdown(overall[["role", "model_version", "n", *HEADLINE]]),
        "scores_by_slice": _markdown(
            evaluation.scores[["role", "slice", "n", "accuracy", "roc_auc"]]
        ),
    }
    if undefined:
        metadata["undefined_metrics"] = dg.MetadataValue.text("; ".join(undefined))
    if evaluation.classes is not None:
        metadata["per_class_scores"] = dg.MetadataValue.md(per_class_markdown(reports))
        for role, report in reports.items():
            metadata[f"{role}_confusion_matrix"] = dg.MetadataValue.md(
                confusion_matrix_markdown(report["confusion_matrix"], evaluation.classes)
            )
    return metadata


def _markdown(frame) -> dg.MetadataValue:
    """A table with ``n/a`` where a score is undefined (tabulate would print ``nan``)."""
    shown = frame.astype(object).where(frame.notna(), None)
    return dg.MetadataValue.md(shown.to_markdown(index=False, floatfmt=".4f", missingval="n/a"))
