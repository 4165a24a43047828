"""The promotion gate for a number: is the candidate's error smaller than the champion's on the
same rows?

Both models predict one holdout, so the comparison is paired on per-row losses (absolute or
squared errors, `policy.gate_metric`): a paired bootstrap interval of the mean loss reduction,
and Wilcoxon's signed-rank test on the per-row differences (the rank analogue of McNemar's test
on correctness). A candidate passes when it is at least `min_effect` better on average, the
interval's lower bound is above 0 and the signed-rank p-value is below `alpha`.

Fixed-sample, not sequential: the anytime-valid confidence sequence the classification gate
accumulates needs per-row differences in a known range, and an error has none (see
docs/regression.md). `pool_regression_refusals` is the fixed-sample way to let a small gain
that no single holdout shows pass on several, as `gate_pooling` does for classification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from continual_ml.decisions.gate import EFFECT_TOLERANCE, paired_bootstrap
from continual_ml.decisions.gate_pooling import pooled_improvement, pooled_verdict
from continual_ml.training.regression_metrics import row_errors


class RegressionGateSettings(BaseModel):
    """How much smaller, and how surely, a candidate's error must be to replace the champion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Literal["absolute_error", "squared_error"] = "absolute_error"
    min_effect: float = Field(0.0, ge=0, description="least mean loss reduction, in its units")
    alpha: float = Field(0.05, gt=0, lt=1, description="signed-rank level; the CI is 1 - alpha")
    n_resamples: int = Field(1000, ge=100)
    seed: int = 0


@dataclass(frozen=True)
class RegressionGateResult:
    """The verdict and its evidence. ``improvement`` and the CI are the champion's mean loss
    minus the candidate's: positive means the candidate errs less."""

    passed: bool
    metric: str
    candidate_value: float  # mean loss (MAE for absolute_error, MSE for squared_error)
    champion_value: float
    improvement: float
    ci_low: float
    ci_high: float
    confidence: float
    wilcoxon_statistic: float
    wilcoxon_p_value: float
    candidate_better_rows: int  # rows where the candidate's loss is the smaller
    champion_better_rows: int
    n: int
    reason: str
    improvement_sd: float = float("nan")  # of the per-row improvements, so verdicts can pool
    wilcoxon_z: float = float("nan")  # signed (positive: the candidate errs less), to pool
    pooled_refusals: int = 0


def signed_rank_p(improvement: np.ndarray) -> tuple[float, float, float]:
    """Two-sided Wilcoxon signed-rank statistic, p-value and the signed normal score of that
    p-value (positive when the ranks favour the candidate); (0, 1, 0) when no row differs."""
    nonzero = improvement[improvement != 0]
    if not len(nonzero):
        return 0.0, 1.0, 0.0
    result = stats.wilcoxon(improvement, zero_method="wilcox", alternative="two-sided")
    ranks = stats.rankdata(np.abs(nonzero))
    direction = np.sign(ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum())
    z = float(direction * stats.norm.isf(max(float(result.pvalue), 1e-300) / 2))
    return float(result.statistic), float(result.pvalue), z


def failures_of(
    settings: RegressionGateSettings, improvement: float, ci_low: float, p_value: float
) -> list[str]:
    failures = []
    if not improvement >= settings.min_effect - EFFECT_TOLERANCE:
        failures.append(f"improvement below min effect {settings.min_effect:g}")
    if not ci_low > 0:
        failures.append("CI lower bound not above 0")
    if not p_value < settings.alpha:
        failures.append(f"paired test p not below alpha {settings.alpha:g}")
    return failures


def evaluate_regression_gate(
    truth, candidate_prediction, champion_prediction, settings: RegressionGateSettings
) -> RegressionGateResult:
    """Pass only a candidate whose mean loss is significantly smaller by at least `min_effect`.

    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(size=400)
    >>> good, poor = truth + rng.normal(scale=0.5, size=400), truth + rng.normal(size=400)
    >>> evaluate_regression_gate(truth, good, poor, RegressionGateSettings()).passed
    True
    >>> evaluate_regression_gate(truth, poor, good, RegressionGateSettings()).passed
    False
    """
    metric, confidence = settings.metric, 1 - settings.alpha
    candidate = row_errors(truth, candidate_prediction, metric)
    champion = row_errors(truth, champion_prediction, metric)
    n = len(candidate)
    if n == 0:
        nan = float("nan")
        reason = "fails: no labelled rows to compare the candidate and the champion on"
        return RegressionGateResult(
            False, metric, nan, nan, nan, nan, nan, confidence, nan, nan, 0, 0, 0, reason
        )
    improvement_rows = champion - candidate
    ci_low, ci_high = paired_bootstrap(
        improvement_rows, settings.n_resamples, settings.seed, confidence
    )
    statistic, p_value, z = signed_rank_p(improvement_rows)
    improvement = float(improvement_rows.mean())
    failures = failures_of(settings, improvement, ci_low, p_value)
    evidence = (
        f"candidate mean {metric} {candidate.mean():.4g} vs champion {champion.mean():.4g}: "
        f"reduction {improvement:+.4g} ({confidence:.0%} CI {ci_low:+.4g}..{ci_high:+.4g}), "
        f"signed-rank p={p_value:.2g} over {n} rows"
    )
    verdict = (
        f"fails: {', '.join(failures)}"
        if failures
        else f"passes min effect {settings.min_effect:g} at alpha {settings.alpha:g}"
    )
    return RegressionGateResult(
        passed=not failures,
        metric=metric,
        candidate_value=float(candidate.mean()),
        champion_value=float(champion.mean()),
        improvement=improvement,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=confidence,
        wilcoxon_statistic=statistic,
        wilcoxon_p_value=p_value,
        candidate_better_rows=int(np.sum(improvement_rows > 0)),
        champion_better_rows=int(np.sum(improvement_rows < 0)),
        n=n,
        reason=f"{evidence}; {verdict}",
        improvement_sd=float(improvement_rows.std()),
        wilcoxon_z=z,
    )


def pool_regression_refusals(
    newest: RegressionGateResult,
    refused: Sequence[RegressionGateResult],
    settings: RegressionGateSettings,
) -> RegressionGateResult:
    """`newest`, passed if its evidence pooled with `refused` (same champion, earlier holdouts)
    passes, under `gate_pooling`'s rules: only a candidate itself at least `min_effect` better
    can pass so; the pooled interval is the normal one over every holdout's rows, the pooled
    rank test the holdouts' signed-rank scores combined by Stouffer's method, weighted by
    their rows."""
    usable = [
        r
        for r in refused
        if r.metric == settings.metric
        and r.n > 0
        and np.isfinite(r.improvement_sd)
        and np.isfinite(r.wilcoxon_z)
    ]
    pooled_mean = pooled_improvement(newest, usable, settings)
    if pooled_mean is None:
        return newest
    parts, n, mean, half_width = pooled_mean
    # Stouffer: independent holdouts (no shared row), each score standard normal under H0
    z = sum(np.sqrt(r.n) * r.wilcoxon_z for r in parts) / np.sqrt(n)
    p_value = float(2 * stats.norm.sf(abs(z)))
    failures = failures_of(settings, mean, mean - half_width, p_value)
    pooled = (
        f"pooled with {len(usable)} refused comparison(s) against this champion ({n} rows): "
        f"reduction {mean:+.4g} ({1 - settings.alpha:.0%} CI {mean - half_width:+.4g}.."
        f"{mean + half_width:+.4g}), signed-rank p={p_value:.2g} (Stouffer)"
    )
    return pooled_verdict(newest, len(usable), failures, pooled)
