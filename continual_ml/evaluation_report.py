"""Scoring the candidate and the champion on one holdout: tables, per-row predictions, plots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.evaluation_plots import (
    confusion_matrix_png,
    png_markdown_text,
    reliability_diagram_png,
    roc_curve_png,
)
from continual_ml.metrics import SCALAR_METRICS, classification_report, per_slice
from continual_ml.training import load_model


@dataclass
class HoldoutEvaluation:
    scores: pd.DataFrame  # one row per role and slice ("all" for the whole holdout)
    holdout: pd.DataFrame  # per-row truth and both models' probabilities, for the gate
    candidate_report: dict
    champion_report: dict | None

    def save_plots(self, folder: Path) -> dict[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        truth = self.holdout["truth"].to_numpy()
        candidate = self.holdout["candidate_proba"].to_numpy()
        champion = (
            self.holdout["champion_proba"].to_numpy() if self.champion_report is not None else None
        )
        plots = {
            "roc": roc_curve_png(truth, candidate, champion),
            "calibration": reliability_diagram_png(truth, candidate, champion),
            "confusion_matrix": confusion_matrix_png(truth, candidate, champion),
        }
        paths = {}
        for name, png in plots.items():
            paths[name] = folder / f"{name}.png"
            paths[name].write_bytes(png)
        return paths


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
    truth = holdout[config.label].astype(int).to_numpy()
    slices = holdout[config.model.slice_column] if config.model.slice_column else None
    predictions = pd.DataFrame(
        {
            "candidate_version": candidate["version"],
            "row_id": holdout["row_id"].to_numpy(),
            "truth": truth,
            "candidate_proba": positive_proba(
                load_model(candidate["artifact"], candidate["sha256"]), config, holdout
            ),
            "champion_version": champion["version"] if champion else None,
            "champion_proba": np.nan,
        }
    )
    scores = _score_rows(
        "candidate", candidate["version"], truth, predictions["candidate_proba"], slices
    )
    champion_report = None
    if champion is not None:
        proba = positive_proba(
            load_model(champion["artifact"], champion["sha256"]), config, holdout
        )
        predictions["champion_proba"] = proba
        scores += _score_rows("champion", champion["version"], truth, proba, slices)
        champion_report = classification_report(truth, proba)
    return HoldoutEvaluation(
        scores=pd.DataFrame(scores).assign(candidate_version=candidate["version"]),
        holdout=predictions,
        candidate_report=classification_report(truth, predictions["candidate_proba"]),
        champion_report=champion_report,
    )


def plots_markdown(paths: dict[str, Path]) -> str:
    """Inline PNGs as markdown, which the Dagster UI renders in the asset's metadata."""
    return "\n\n".join(
        f"**{name}**\n\n{png_markdown_text(name, path.read_bytes())}"
        for name, path in paths.items()
    )
