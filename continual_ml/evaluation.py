"""Scoring models on a holdout, and the promotion rule that compares challenger and champion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from continual_ml.config import DatasetConfig, PolicySettings


def score_model(model, config: DatasetConfig, holdout: pd.DataFrame) -> dict[str, float]:
    labelled = holdout[holdout[config.label].notna()]
    truth = labelled[config.label].astype(int).to_numpy()
    proba = model.predict_proba(labelled[config.feature_names])[:, 1]
    predicted = (proba >= 0.5).astype(int)
    both_classes = len(np.unique(truth)) == 2
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "f1": float(f1_score(truth, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(truth, proba)) if both_classes else float("nan"),
        "log_loss": float(log_loss(truth, proba, labels=[0, 1])),
        "n_holdout": len(truth),
    }


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def decide_promotion(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    policy: PolicySettings,
    evaluated_champion: int | None = None,
    current_champion: int | None = None,
) -> PromotionDecision:
    """Promote the first model; afterwards only a challenger that beats the champion.

    The comparison holds only against the champion it was made with: if another promotion
    happened in between, the candidate is refused rather than judged against a stale score.
    """
    if evaluated_champion != current_champion:
        return PromotionDecision(
            False,
            f"champion changed since evaluation (evaluated against {evaluated_champion}, "
            f"now {current_champion}): re-evaluate",
        )
    if champion is None:
        return PromotionDecision(True, "no champion yet: the first model is promoted")
    gain = candidate["accuracy"] - champion["accuracy"]
    comparison = (
        f"accuracy {candidate['accuracy']:.4f} vs champion {champion['accuracy']:.4f} "
        f"(gain {gain:+.4f}, required > {policy.min_improvement:.4f})"
    )
    # Ties keep the champion: a swap that buys nothing is churn for the service.
    if gain > policy.min_improvement:
        return PromotionDecision(True, f"challenger is better: {comparison}")
    return PromotionDecision(False, f"challenger is not better: {comparison}")
