"""Drift in how often a feature is missing, which the distribution tests cannot see.

Evidently's tests, and `drift_engine` after them, drop missing values before comparing
distributions, so a feature going from 10% to 16% empty looks unchanged, though it usually
means an upstream source broke. Each feature's missing share in the current batch is compared
with the reference's by a two-sided two-proportion z-test; a shift counts when it is
significant at `alpha` and at least `min_change` in absolute share, so a large batch does not
flag a change too small to matter.

Examples
--------
>>> import pandas as pd
>>> from continual_ml.monitoring.drift_engine import build_profile
>>> reference = pd.DataFrame({"income": [1.0] * 446 + [None] * 49})  # 9.9% missing
>>> current = pd.DataFrame({"income": [1.0] * 139 + [None] * 26})  # 15.8% missing
>>> [shift] = missing_value_drift(build_profile(reference, ["income"]), current)
>>> shift.drifted, round(shift.p_value, 3)
(True, 0.04)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from continual_ml.monitoring import drift_stats
from continual_ml.monitoring.drift_engine import NumericReference, ReferenceProfile


@dataclass(frozen=True)
class MissingShift:
    feature: str
    reference_share: float
    current_share: float
    p_value: float
    drifted: bool

    def describe(self) -> str:
        return (
            f"{self.reference_share:.1%} -> {self.current_share:.1%} missing (p={self.p_value:.3f})"
        )


def missing_value_drift(
    profile: ReferenceProfile, current: pd.DataFrame, alpha: float = 0.05, min_change: float = 0.05
) -> list[MissingShift]:
    """The missing share of each profiled feature, reference against current."""
    shifts = []
    for reference in profile.features:
        column = current[reference.name]
        n_reference, n_current = reference.n + reference.n_missing, len(column)
        if n_reference == 0 or n_current == 0:
            continue
        if isinstance(reference, NumericReference):
            present = len(drift_stats.finite_values(column))
        else:
            present = sum(drift_stats.category_counts(column).values())
        before, after = reference.n_missing / n_reference, (n_current - present) / n_current
        pooled = (reference.n_missing + n_current - present) / (n_reference + n_current)
        error = math.sqrt(pooled * (1 - pooled) * (1 / n_reference + 1 / n_current))
        # two-sided normal tail: 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt(2))
        p_value = math.erfc(abs(after - before) / error / math.sqrt(2)) if error > 0 else 1.0
        drifted = p_value < alpha and abs(after - before) >= min_change
        shifts.append(MissingShift(reference.name, before, after, p_value, drifted))
    return shifts
