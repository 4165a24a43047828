"""Pooling the gate's evidence: a small gain that no single holdout shows, seen on several.

One holdout of 600–1,500 rows often cannot tell a 1–2 point improvement from none, so a
champion trained in the middle of a gradual drift can stay a few points behind every fresh model
while the gate refuses each of them alone. `pool_refusals` lets a candidate that is itself
better pass on the evidence of its own holdout pooled with the refused comparisons against the
same champion on earlier holdouts: did retraining beat this champion, all told? The price is
measured by `benchmarks.gate_error_rates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy import stats

from continual_ml.decisions.gate import (
    EFFECT_TOLERANCE,
    GateResult,
    GateSettings,
    gate_failures,
    mcnemar_from_counts,
)


def pool_refusals(
    newest: GateResult, refused: Sequence[GateResult], settings: GateSettings
) -> GateResult:
    """`newest`, passed if its evidence pooled with `refused` (same champion) passes the gate.

    Only a candidate at least `min_effect` better on its own holdout can pass this way. The
    pooled interval is the normal one on the rows of every holdout (the bootstrap needs the rows
    themselves); McNemar's test takes the summed discordant counts. The holdouts must be
    different rows: comparisons on earlier partitions.
    """
    usable = [
        r
        for r in refused
        if r.metric == settings.metric and r.n > 0 and np.isfinite(r.improvement_sd)
    ]
    pooled_mean = pooled_improvement(newest, usable, settings)
    if pooled_mean is None:
        return newest
    parts, n, mean, half_width = pooled_mean
    mcnemar = mcnemar_from_counts(
        sum(r.candidate_only_correct for r in parts), sum(r.champion_only_correct for r in parts)
    )
    failures = gate_failures(settings, mean, mean - half_width, mcnemar.p_value)
    pooled = (
        f"pooled with {len(usable)} refused comparison(s) against this champion ({n} rows): "
        f"improvement {mean:+.4f} ({1 - settings.alpha:.0%} CI {mean - half_width:+.4f}.."
        f"{mean + half_width:+.4f}), McNemar p={mcnemar.p_value:.2g}"
    )
    return pooled_verdict(newest, len(usable), failures, pooled)


def pooled_improvement(newest, usable: Sequence, settings) -> tuple[list, int, float, float] | None:
    """The newest comparison and the `usable` refused ones as one: (the comparisons, their
    rows, the row-weighted mean improvement, its CI's half-width at `settings.alpha`); None
    when pooling does not apply (the newest passed, has no spread, or shows no gain worth it).

    The variance pools each holdout's second moment about the common mean."""
    if newest.passed or not usable or newest.n == 0 or not np.isfinite(newest.improvement_sd):
        return None
    if newest.improvement <= 0 or newest.improvement < settings.min_effect - EFFECT_TOLERANCE:
        return None
    parts = [newest, *usable]
    n = sum(r.n for r in parts)
    mean = sum(r.n * r.improvement for r in parts) / n
    second_moment = sum(r.n * (r.improvement_sd**2 + r.improvement**2) for r in parts) / n
    half_width = float(stats.norm.ppf(1 - settings.alpha / 2)) * np.sqrt(
        max(second_moment - mean**2, 0.0) / n
    )
    return parts, n, mean, half_width


def pooled_verdict(newest, pooled_refusals: int, failures, pooled: str):
    """The newest comparison's verdict, passed if the pooled evidence (`pooled`, what it says)
    raises no `failures`; either way its reason tells both stories."""
    alone = f"{newest.reason} on its own holdout"
    if failures:
        return replace(newest, reason=f"{alone}; {pooled}: fails too")
    return replace(
        newest, passed=True, pooled_refusals=pooled_refusals, reason=f"{alone}; {pooled}: passes"
    )
