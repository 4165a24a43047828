"""Per-feature data drift with Evidently's default methods, from a reference profile built once.

`build_profile` summarises a reference window (sorted finite values and std for numeric
features, value counts for categorical ones); `check_drift` then costs only the current batch.
The method and threshold per feature are those Evidently 0.7's `DataDriftPreset` picks by
default, so the verdicts agree with it:

=====================  ==========================  ========================================
reference rows         numeric                     categorical
=====================  ==========================  ========================================
<= 1000 (non-null)     K-S p-value, or for <= 5    chi-square p-value, or Z-test p-value
                       values as categorical       for <= 2 values
> 1000                 normed Wasserstein, or      Jensen-Shannon distance
                       Jensen-Shannon for <= 5
=====================  ==========================  ========================================

The value counts are over reference and current together. p-values drift below 0.05 (K-S:
at or below), distances at or above 0.1. Nulls and infinities are dropped first. Where Evidently
fails, on a feature with no values on one side, this reports the feature instead: drifted when
only one side is empty, and left out of the drift share when both are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from continual_ml.monitoring import drift_evidence, drift_stats

KS, CHI_SQUARE, Z_TEST = "K-S p_value", "chi-square p_value", "Z-test p_value"
WASSERSTEIN, JENSEN_SHANNON, PSI = "Wasserstein distance (normed)", "Jensen-Shannon distance", "PSI"
# the feature has no values on one side or on both; only the first two count as drift
NO_CURRENT_VALUES, NO_REFERENCE_VALUES = "no values in current", "no values in reference"
NO_VALUES = "no values in reference or current"
P_VALUE_THRESHOLD, DISTANCE_THRESHOLD = 0.05, 0.1
DISTANCES = (WASSERSTEIN, JENSEN_SHANNON, PSI)  # a fixed threshold whatever the sample size
SMALL_SAMPLE = 1000  # reference rows up to which Evidently uses statistical tests
FEW_VALUES = 5  # numeric features with at most this many values are compared as categories
PSI_BIN_ABOVE = 20  # PSI bins numeric features with more reference values, else counts values


@dataclass(frozen=True, eq=False)
class NumericReference:
    """A numeric feature's finite reference values, sorted, and their population std."""

    name: str
    sorted_values: np.ndarray
    n_missing: int
    std: float

    @property
    def n(self) -> int:
        return len(self.sorted_values)

    @cached_property
    def n_distinct(self) -> int:
        return int(np.count_nonzero(np.diff(self.sorted_values))) + (self.n > 0)

    @cached_property
    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct values and their counts."""
        starts = np.flatnonzero(np.diff(self.sorted_values, prepend=np.nan) != 0)
        return self.sorted_values[starts], np.diff(np.append(starts, self.n))


@dataclass(frozen=True)
class CategoricalReference:
    """A categorical feature's reference counts per value (values as strings)."""

    name: str
    counts: dict[str, int]
    n_missing: int

    @property
    def n(self) -> int:
        return sum(self.counts.values())


FeatureReference = NumericReference | CategoricalReference


@dataclass(frozen=True)
class ReferenceProfile:
    """What a drift check needs to know about the reference window, feature by feature."""

    features: tuple[FeatureReference, ...]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    method: str
    threshold: float
    score: float
    drifted: bool


@dataclass(frozen=True)
class DriftCheck:
    """Per-feature results, in profile order, and the share of tested features that drifted."""

    features: list[FeatureDrift]

    @property
    def n_tested(self) -> int:
        untested = (NO_VALUES, drift_evidence.TOO_FEW_VALUES)
        return sum(f.method not in untested for f in self.features)

    @property
    def has_verdict(self) -> bool:  # a day of too few rows says nothing
        return self.n_tested > 0

    @property
    def n_drifted(self) -> int:
        return sum(f.drifted for f in self.features)

    @property
    def drift_share(self) -> float:
        return self.n_drifted / self.n_tested if self.n_tested else 0.0

    def top(self, n: int = 5) -> list[FeatureDrift]:
        """The drifted features first, then by descending score (no score last)."""

        def rank(f: FeatureDrift) -> tuple[bool, float]:
            return not f.drifted, math.inf if math.isnan(f.score) else -f.score

        return sorted(self.features, key=rank)[:n]


def build_profile(
    reference: pd.DataFrame,
    numeric_features: Sequence[str] | None = None,
    categorical_features: Sequence[str] | None = None,
) -> ReferenceProfile:
    """Summarise the reference window; without feature lists, numeric dtypes are numeric."""
    if numeric_features is None and categorical_features is None:
        numeric_features = [
            c
            for c in reference.columns
            if pd.api.types.is_numeric_dtype(reference[c])
            and not pd.api.types.is_bool_dtype(reference[c])
        ]
        categorical_features = [c for c in reference.columns if c not in numeric_features]
    numeric, categorical = set(numeric_features or ()), set(categorical_features or ())
    missing = (numeric | categorical) - set(reference.columns)
    if missing:
        raise KeyError(f"features not in the reference window: {sorted(missing)}")
    features: list[FeatureReference] = []
    for name in reference.columns:
        column = reference[name]
        if name in numeric:
            values = drift_stats.finite_values(column)
            std = float(np.std(values)) if len(values) else math.nan
            features.append(NumericReference(name, np.sort(values), len(column) - len(values), std))
        elif name in categorical:
            counts = drift_stats.category_counts(column)
            features.append(CategoricalReference(name, counts, len(column) - sum(counts.values())))
    return ReferenceProfile(features=tuple(features))


def select_method(numeric: bool, n_reference: int, n_values: int) -> str:
    """Evidently's default method for a feature, from the reference size and distinct values."""
    if n_reference <= SMALL_SAMPLE:
        if numeric and n_values > FEW_VALUES:
            return KS
        return CHI_SQUARE if n_values > 2 else Z_TEST
    return WASSERSTEIN if numeric and n_values > FEW_VALUES else JENSEN_SHANNON


def _is_drifted(method: str, score: float, threshold: float) -> bool:
    if method == KS:
        return score <= threshold
    if method in (CHI_SQUARE, Z_TEST):
        return score < threshold
    return score >= threshold


def _score_counts(method: str, reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    score_function = {
        CHI_SQUARE: drift_stats.chi_square_p_value,
        Z_TEST: drift_stats.z_test_p_value,
        JENSEN_SHANNON: drift_stats.jensen_shannon,
        PSI: drift_stats.psi,
    }[method]
    return score_function(reference_counts.astype(np.float64), current_counts.astype(np.float64))


def _check_numeric(reference: NumericReference, current: np.ndarray, method: str):
    counts = None
    if method == "auto":
        n_values = reference.n_distinct
        # the union of values can only be few when the reference's values are
        if n_values <= FEW_VALUES:
            counts = drift_stats.aligned_counts(*reference.distinct, current)
            n_values = len(counts[0])
        method = select_method(True, reference.n, n_values)
    if method == KS:
        return KS, drift_stats.ks_p_value(reference.sorted_values, current)
    if method == WASSERSTEIN:
        current_sorted = np.sort(current)
        return WASSERSTEIN, drift_stats.wasserstein_normed(
            reference.sorted_values, current_sorted, reference.std
        )
    if method == PSI and reference.n_distinct > PSI_BIN_ABOVE:
        counts = drift_stats.sturges_counts(reference.sorted_values, current)
    elif counts is None:
        counts = drift_stats.aligned_counts(*reference.distinct, current)
    return method, _score_counts(method, *counts)


def _check_categorical(reference: CategoricalReference, current: dict[str, int], method: str):
    values = sorted(reference.counts.keys() | current.keys())
    reference_counts = np.array([reference.counts.get(v, 0) for v in values])
    current_counts = np.array([current.get(v, 0) for v in values])
    if method == "auto":
        method = select_method(False, reference.n, len(values))
    return method, _score_counts(method, reference_counts, current_counts)


def _no_values(name: str, n_reference: int, n_current: int) -> FeatureDrift:
    # a feature that lost or gained all its values has drifted; one never seen cannot
    if n_reference == n_current == 0:
        return FeatureDrift(name, NO_VALUES, math.nan, math.nan, drifted=False)
    method = NO_CURRENT_VALUES if n_reference else NO_REFERENCE_VALUES
    return FeatureDrift(name, method, math.nan, math.nan, drifted=True)


def _noise_p_value(reference: FeatureReference, current_values) -> float:
    if isinstance(reference, NumericReference) and reference.n_distinct > FEW_VALUES:
        return drift_evidence.numeric_noise_p_value(reference.sorted_values, current_values)
    if isinstance(reference, NumericReference):  # few values: compared as categories
        return drift_evidence.counts_noise_p_value(
            *drift_stats.aligned_counts(*reference.distinct, current_values)
        )
    values = sorted(reference.counts.keys() | current_values.keys())
    return drift_evidence.counts_noise_p_value(
        np.array([reference.counts.get(v, 0) for v in values]),
        np.array([current_values.get(v, 0) for v in values]),
    )


def check_drift(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    method: Literal["auto", "psi"] = "auto",
    threshold: float | None = None,
    min_rows: int = 0,
    noise_alpha: float = 0.0,
) -> DriftCheck:
    """Compare the current batch with the profiled reference, feature by feature.

    `method="psi"` uses the population stability index for every feature (Evidently's
    `DataDriftPreset(method="psi")`); `threshold` overrides each method's default. `min_rows`
    and `noise_alpha` (see `drift_evidence`) keep a small sample from a verdict; at 0, the
    defaults, the verdicts are Evidently's.
    """
    missing = [name for name in profile.feature_names if name not in current.columns]
    if missing:
        raise KeyError(f"features not in the current batch: {missing}")
    features = []
    for reference in profile.features:
        column = current[reference.name]
        if isinstance(reference, NumericReference):
            current_values = drift_stats.finite_values(column)
            n_current = len(current_values)
        else:
            current_values = drift_stats.category_counts(column)
            n_current = sum(current_values.values())
        if reference.n == 0 or n_current == 0:
            features.append(_no_values(reference.name, reference.n, n_current))
            continue
        if drift_evidence.too_few(n_current, min_rows):
            few = drift_evidence.TOO_FEW_VALUES
            features.append(FeatureDrift(reference.name, few, math.nan, math.nan, False))
            continue
        chosen = PSI if method == "psi" else "auto"
        if isinstance(reference, NumericReference):
            used, score = _check_numeric(reference, current_values, chosen)
        else:
            used, score = _check_categorical(reference, current_values, chosen)
        default = P_VALUE_THRESHOLD if used in (KS, CHI_SQUARE, Z_TEST) else DISTANCE_THRESHOLD
        limit = default if threshold is None else threshold
        drifted = _is_drifted(used, score, limit)
        if drifted and noise_alpha > 0 and used in DISTANCES:
            p_value = _noise_p_value(reference, current_values)
            if p_value >= noise_alpha:
                used, drifted = drift_evidence.noise_label(used, p_value), False
        features.append(FeatureDrift(reference.name, used, limit, score, drifted))
    return DriftCheck(features=features)
