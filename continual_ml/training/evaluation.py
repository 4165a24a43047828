"""Scoring the candidate and the champion on one holdout: tables, per-row predictions, plots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.training.class_probabilities import class_proba
from continual_ml.training.classification_metrics import (
    SCALAR_METRICS,
    classification_report,
    per_slice,
)
from continual_ml.training.holdout_rows import (
    RoleEvaluation,
    holdout_rows,
    role_outputs,
    role_scores,
)
from continual_ml.training.multiclass_metrics import multiclass_report
from continual_ml.training.plots import (
    class_confusion_matrix_png,
    confusion_matrix_png,
    png_markdown_text,
    reliability_diagram_png,
    roc_curve_png,
)


@dataclass
class HoldoutEvaluation(RoleEvaluation):
    """A classifier's evaluation; the per-row outputs are probabilities."""

    classes: tuple | None = None  # set for a multiclass model: the config's classes
    class_scores: pd.DataFrame | None = None  # a multiclass model's per-class scores, by role

    def plots(self) -> dict[str, bytes]:
        if self.classes is not None:
            # ROC and reliability curves are per class; the confusion matrix says it all at once.
            reports = [r for r in (self.candidate_report, self.champion_report) if r is not None]
            matrices = [report["confusion_matrix"] for report in reports]
            return {"confusion_matrix": class_confusion_matrix_png(matrices, self.classes)}
        truth, candidate, champion = self.drawn("proba")
        return {
            "roc": roc_curve_png(truth, candidate, champion),
            "calibration": reliability_diagram_png(truth, candidate, champion),
            "confusion_matrix": confusion_matrix_png(truth, candidate, champion),
        }


def positive_proba(model, config: DatasetConfig, rows: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(rows[config.feature_names])[:, 1]


def _score_rows(role: str, version: int, truth, proba, slices) -> list[dict]:
    rows = [
        {
            "role": role,
            "model_version": version,
            "slice": "all",
            **_flat(classification_report(truth, proba)),
        }
    ]
    if slices is not None:
        for value, report in per_slice(truth, proba, slices).items():
            rows.append(
                {"role": role, "model_version": version, "slice": str(value), **_flat(report)}
            )
    return rows


def _flat(report: dict) -> dict:
    return {
        **{k: report[k] for k in SCALAR_METRICS},
        "n": report["n"],
        "confusion_matrix": json.dumps(report["confusion_matrix"]),
    }


def evaluate_on_holdout(
    config: DatasetConfig, holdout: pd.DataFrame, candidate: dict, champion: dict | None
) -> HoldoutEvaluation:
    """Score both models (loaded only after their hashes check out) on the same rows."""
    if not config.binary:
        return _evaluate_classes(config, holdout, candidate, champion)
    truth = holdout[config.label].astype(int).to_numpy()
    slices = holdout[config.model.slice_column] if config.model.slice_column else None
    proba = role_outputs(candidate, champion, lambda model: positive_proba(model, config, holdout))
    return HoldoutEvaluation(
        scores=role_scores(_score_rows, proba, candidate, champion, truth, slices),
        holdout=holdout_rows(holdout, truth, candidate, champion, proba, "proba"),
        candidate_report=classification_report(truth, proba["candidate"]),
        champion_report=classification_report(truth, proba["champion"]) if champion else None,
    )


#: Where each multiclass metric goes in the binary report's table.
CLASS_METRIC_NAMES = {
    "precision": "macro_precision",
    "recall": "macro_recall",
    "f1": "macro_f1",
    "roc_auc": "roc_auc_ovr",
    "pr_auc": "pr_auc_ovr",
    "ece": "ece_top_label",
}


def class_report(truth, proba, classes) -> dict:
    """A `multiclass_report` under the binary report's names, so both fill the same table.

    ``precision``, ``recall`` and ``f1`` are the macro averages, ``roc_auc`` and ``pr_auc``
    the macro one-vs-rest AUCs and ``ece`` the top-label ECE (`CLASS_METRIC_NAMES`); the
    report's ``per_class``, ``confusion_matrix`` and ``classes`` come along as they are.
    """
    report = multiclass_report(truth, proba, classes)
    source_of = {name: CLASS_METRIC_NAMES.get(name, name) for name in SCALAR_METRICS}
    renamed = {name: report[source] for name, source in source_of.items()}
    undefined = {
        name: report["undefined"][source]
        for name, source in source_of.items()
        if source in report["undefined"]
    }
    return {
        **renamed,
        "macro_f1": report["macro_f1"],
        "confusion_matrix": report["confusion_matrix"],
        "per_class": report["per_class"],
        "classes": report["classes"],
        "n": report["n"],
        "undefined": undefined,
    }


def class_scores_frame(role: str, version: int, report: dict) -> pd.DataFrame:
    """A multiclass report's ``per_class`` as rows of `evaluation_class_scores`."""
    return pd.DataFrame(
        [
            {
                "role": role,
                "model_version": version,
                "class": str(entry["class"]),
                **{k: entry[k] for k in ("precision", "recall", "f1", "support")},
            }
            for entry in report["per_class"]
        ]
    )


def _class_score_rows(role: str, version: int, truth, proba, classes, slices) -> list[dict]:
    parts = [("all", np.ones(len(truth), dtype=bool))]
    if slices is not None:
        values = pd.Series(np.asarray(slices, dtype=object))
        parts += [(str(v), (values == v).to_numpy()) for v in sorted(values.dropna().unique())]
        if values.isna().any():
            parts.append(("None", values.isna().to_numpy()))
    return [
        {
            "role": role,
            "model_version": version,
            "slice": name,
            **_flat(class_report(truth[rows], proba[rows], classes)),
        }
        for name, rows in parts
    ]


def _evaluate_classes(config, holdout, candidate, champion) -> HoldoutEvaluation:
    """The multiclass `evaluate_on_holdout`: truth stored as the index of its class, each
    model's probability of its predicted class in ``*_proba`` and the whole row of class
    probabilities (in the config's order) in ``*_probabilities``."""
    classes = list(config.classes)
    labels = holdout[config.label].to_numpy(dtype=object)
    slices = holdout[config.model.slice_column] if config.model.slice_column else None
    probas = role_outputs(candidate, champion, lambda model: class_proba(model, config, holdout))
    rows = {"candidate": candidate, "champion": champion}
    scores, reports, per_class = [], {}, []
    for role, proba in probas.items():
        version = rows[role]["version"]
        scores += _class_score_rows(role, version, labels, proba, classes, slices)
        reports[role] = class_report(labels, proba, classes)
        per_class.append(class_scores_frame(role, version, reports[role]))
    index_of = {label: index for index, label in enumerate(classes)}

    def column(role: str, values):
        return values(probas[role]) if role in probas else None

    predictions = pd.DataFrame(
        {
            "candidate_version": candidate["version"],
            "row_id": holdout["row_id"].to_numpy(),
            "truth": [index_of[label] for label in labels],
            "candidate_proba": column("candidate", lambda p: p.max(axis=1)),
            "champion_version": champion["version"] if champion else None,
            "champion_proba": column("champion", lambda p: p.max(axis=1)),
            "candidate_probabilities": column("candidate", _json_rows),
            "champion_probabilities": column("champion", _json_rows),
        }
    )
    return HoldoutEvaluation(
        scores=pd.DataFrame(scores).assign(candidate_version=candidate["version"]),
        holdout=predictions,
        candidate_report=reports["candidate"],
        champion_report=reports.get("champion"),
        classes=tuple(classes),
        class_scores=pd.concat(per_class, ignore_index=True).assign(
            candidate_version=candidate["version"]
        ),
    )


def _json_rows(proba: np.ndarray) -> list[str]:
    return [json.dumps(row) for row in proba.tolist()]


def plots_markdown(paths: dict[str, Path]) -> str:
    """Inline PNGs as markdown, which the Dagster UI renders in the asset's metadata."""
    return "\n\n".join(
        f"**{name}**\n\n{png_markdown_text(name, path.read_bytes())}"
        for name, path in paths.items()
    )
