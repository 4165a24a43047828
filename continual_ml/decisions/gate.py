"""The statistical promotion gate: is the candidate better than the champion on the same rows?

Both models are scored on one holdout, so the comparison is paired: McNemar's test on the rows
where exactly one of them is right, and a paired bootstrap of the difference in a metric.

`gate_pooling` lets a candidate pass on the evidence of several holdouts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from continual_ml.training.classification_metrics import as_binary_arrays
from continual_ml.training.multiclass_metrics import as_class_indices, row_scores

# Below this many discordant pairs the chi-square approximation is poor: use the exact test.
EXACT_BELOW_DISCORDANT = 25
# Resampled index matrices are built in chunks of at most this many cells to bound memory.
BOOTSTRAP_CHUNK_CELLS = 2**22
# Tolerance for "at least min_effect": metric differences are sums of floats.
EFFECT_TOLERANCE = 1e-12


class GateSettings(BaseModel):
    """How much better, and how surely, a candidate must be to replace the champion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Literal["accuracy", "log_loss", "brier"] = "accuracy"
    min_effect: float = Field(0.0, ge=0, description="minimum improvement, in the metric's units")
    alpha: float = Field(0.05, gt=0, lt=1, description="McNemar level; the CI is 1 - alpha")
    n_resamples: int = Field(1000, ge=100)
    seed: int = 0
    threshold: float = Field(0.5, gt=0, lt=1, description="predict 1 when proba >= threshold")


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on paired correctness.

    ``statistic`` is the continuity-corrected chi-square, or for the exact test the smaller
    discordant count (the binomial count whose tail gives the p-value).
    """

    statistic: float
    p_value: float
    method: Literal["exact", "chi2", "none"]
    candidate_only_correct: int
    champion_only_correct: int


def mcnemar_test(candidate_correct, champion_correct) -> McNemarResult:
    """Two-sided McNemar test: exact binomial below 25 discordant pairs, else chi-square."""
    candidate_correct = np.asarray(candidate_correct, dtype=bool)
    champion_correct = np.asarray(champion_correct, dtype=bool)
    return mcnemar_from_counts(
        int(np.sum(candidate_correct & ~champion_correct)),
        int(np.sum(champion_correct & ~candidate_correct)),
    )


def mcnemar_from_counts(only_candidate: int, only_champion: int) -> McNemarResult:
    """McNemar's test from the discordant counts alone."""
    discordant = only_candidate + only_champion
    if discordant == 0:
        # The models agree on every row: no evidence either way.
        return McNemarResult(0.0, 1.0, "none", 0, 0)
    if discordant < EXACT_BELOW_DISCORDANT:
        smaller = min(only_candidate, only_champion)
        # Under H0 each discordant pair favours either model with probability 1/2; the
        # distribution is symmetric, so the two-sided p-value is twice the smaller tail.
        p_value = min(1.0, 2.0 * float(stats.binom.cdf(smaller, discordant, 0.5)))
        return McNemarResult(float(smaller), p_value, "exact", only_candidate, only_champion)
    corrected = max(abs(only_candidate - only_champion) - 1, 0)
    statistic = corrected**2 / discordant
    p_value = float(stats.chi2.sf(statistic, df=1))
    return McNemarResult(float(statistic), p_value, "chi2", only_candidate, only_champion)


def _row_scores(truth, proba, metric: str, threshold: float) -> np.ndarray:
    """Per-row values whose mean is the metric, oriented so that larger is better.

    Accuracy, log loss and Brier score are all row means, so a metric difference on any
    resample of rows is the mean of the per-row differences over that resample.
    """
    if metric == "accuracy":
        return ((proba >= threshold).astype(int) == truth).astype(float)
    if metric == "brier":
        return -((proba - truth) ** 2)
    if metric == "log_loss":
        # The same clipping as scikit-learn's log_loss, so the means agree with it.
        eps = np.finfo(float).eps
        clipped = np.clip(proba, eps, 1 - eps)
        return np.where(truth == 1, np.log(clipped), np.log1p(-clipped))
    raise ValueError(f"unsupported gate metric {metric!r}")


def paired_bootstrap(
    improvement: np.ndarray, n_resamples: int, seed: int, confidence: float
) -> tuple[float, float]:
    """Percentile interval of the mean per-row improvement over row resamples."""
    n = len(improvement)
    rng = np.random.default_rng(seed)
    rows_per_chunk = max(1, BOOTSTRAP_CHUNK_CELLS // n)
    means = []
    for start in range(0, n_resamples, rows_per_chunk):
        size = min(rows_per_chunk, n_resamples - start)
        resampled_rows = rng.integers(0, n, size=(size, n))
        means.append(improvement[resampled_rows].mean(axis=1))
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.concatenate(means), [tail, 1 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict and the evidence behind it.

    ``improvement`` and the CI bounds are oriented so that positive means the candidate is
    better, whatever the metric: for log loss and Brier it is champion minus candidate.
    """

    passed: bool
    metric: str
    candidate_value: float
    champion_value: float
    improvement: float
    ci_low: float
    ci_high: float
    confidence: float
    mcnemar_statistic: float
    mcnemar_p_value: float
    mcnemar_method: str
    candidate_only_correct: int
    champion_only_correct: int
    n: int
    reason: str
    improvement_sd: float = float("nan")  # of the per-row improvements, so verdicts can pool
    pooled_refusals: int = 0  # earlier refused comparisons whose evidence it passed with


def paired_rows(truth, candidate_proba, champion_proba, settings: GateSettings, classes):
    """Per-row metric scores and correctness of both models: (candidate, champion) pairs."""
    if classes is None:
        truth, candidate_proba = as_binary_arrays(truth, candidate_proba)
        champion_proba = as_binary_arrays(truth, champion_proba)[1]

        def score(proba, metric):
            return _row_scores(truth, proba, metric, settings.threshold)
    else:
        truth, candidate_proba = as_class_indices(truth, candidate_proba, classes)
        champion_proba = as_class_indices(np.asarray(classes)[truth], champion_proba, classes)[1]

        def score(proba, metric):
            return row_scores(truth, proba, metric)

    return (
        (score(candidate_proba, settings.metric), score(champion_proba, settings.metric)),
        (score(candidate_proba, "accuracy") == 1, score(champion_proba, "accuracy") == 1),
    )


def evaluate_gate(
    truth, candidate_proba, champion_proba, settings: GateSettings, classes=None
) -> GateResult:
    """Pass only a candidate better by at least `min_effect` whose improvement is significant.

    Significant means the bootstrap interval's lower bound on the improvement is above 0 and,
    for accuracy, McNemar's p-value is below `alpha`.

    Binary models (``classes`` None) give positive-class probabilities and 0/1 truth. With
    ``classes`` (any labels, e.g. ``["low", "medium", "high"]``) each model gives a matrix with
    one probability column per class in that order, ``truth`` holds the labels, and a row is
    correct when its most probable class is the truth (``threshold`` is not used).
    """
    metric, confidence = settings.metric, 1 - settings.alpha
    (candidate_rows, champion_rows), correct = paired_rows(
        truth, candidate_proba, champion_proba, settings, classes
    )
    if len(candidate_rows) == 0:
        return _no_rows_result(metric, confidence)
    improvement_rows = candidate_rows - champion_rows
    ci_low, ci_high = paired_bootstrap(
        improvement_rows, settings.n_resamples, settings.seed, confidence
    )
    mcnemar = mcnemar_test(*correct)
    sign = 1 if metric == "accuracy" else -1  # report losses as losses, not negated scores
    candidate_value = sign * float(candidate_rows.mean())
    champion_value = sign * float(champion_rows.mean())
    improvement = float(improvement_rows.mean())

    failures = gate_failures(settings, improvement, ci_low, mcnemar.p_value)
    direction = "" if metric == "accuracy" else ", lower is better"
    evidence = (
        f"candidate {metric} {candidate_value:.4f} vs champion {champion_value:.4f}: "
        f"improvement {improvement:+.4f} ({confidence:.0%} CI {ci_low:+.4f}..{ci_high:+.4f}"
        f"{direction}), McNemar p={mcnemar.p_value:.2g}"
    )
    verdict = (
        f"fails: {', '.join(failures)}"
        if failures
        else f"passes min effect {settings.min_effect:g} at alpha {settings.alpha:g}"
    )
    return GateResult(
        passed=not failures,
        metric=metric,
        candidate_value=candidate_value,
        champion_value=champion_value,
        improvement=improvement,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=confidence,
        mcnemar_statistic=mcnemar.statistic,
        mcnemar_p_value=mcnemar.p_value,
        mcnemar_method=mcnemar.method,
        candidate_only_correct=mcnemar.candidate_only_correct,
        champion_only_correct=mcnemar.champion_only_correct,
        n=len(candidate_rows),
        reason=f"{evidence}; {verdict}",
        improvement_sd=float(improvement_rows.std()),
    )


def gate_failures(settings: GateSettings, improvement: float, ci_low: float, p_value: float):
    failures = []
    if improvement < settings.min_effect - EFFECT_TOLERANCE:
        failures.append(f"improvement below min effect {settings.min_effect:g}")
    if ci_low <= 0:
        failures.append("CI lower bound not above 0")
    if settings.metric == "accuracy" and not p_value < settings.alpha:
        failures.append(f"McNemar p not below alpha {settings.alpha:g}")
    return failures


def _no_rows_result(metric: str, confidence: float) -> GateResult:
    nan = float("nan")
    return GateResult(
        passed=False,
        metric=metric,
        candidate_value=nan,
        champion_value=nan,
        improvement=nan,
        ci_low=nan,
        ci_high=nan,
        confidence=confidence,
        mcnemar_statistic=nan,
        mcnemar_p_value=nan,
        mcnemar_method="none",
        candidate_only_correct=0,
        champion_only_correct=0,
        n=0,
        reason="fails: no labelled rows to compare the candidate and the champion on",
    )


FeatureSignature = Mapping[str, str] | Iterable[tuple[str, str]]


def check_compatibility(
    candidate_features: FeatureSignature, champion_features: FeatureSignature
) -> str | None:
    """Why the two models cannot be compared on the same rows, or None when they can.

    A signature is an ordered mapping (or sequence of pairs) from feature name to a type
    string, e.g. ``{"x0": "numeric", "segment": "categorical"}`` or pandas dtypes.
    """
    candidate = [(name, str(kind)) for name, kind in dict(candidate_features).items()]
    champion = [(name, str(kind)) for name, kind in dict(champion_features).items()]
    if candidate == champion:
        return None
    candidate_names = [name for name, _ in candidate]
    champion_names = [name for name, _ in champion]
    missing = [name for name in champion_names if name not in candidate_names]
    added = [name for name in candidate_names if name not in champion_names]
    if missing or added:
        return f"feature names differ: candidate lacks {missing}, adds {added}"
    if candidate_names != champion_names:
        return f"feature order differs: candidate {candidate_names} vs champion {champion_names}"
    retyped = [
        f"{name} {champion_type} -> {candidate_type}"
        for (name, candidate_type), (_, champion_type) in zip(candidate, champion, strict=True)
        if candidate_type != champion_type
    ]
    return f"feature types differ (champion -> candidate): {', '.join(retyped)}"
