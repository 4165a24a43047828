"""The per-column drift statistics of Evidently's data-drift preset, on arrays and counts.

Each function reproduces the arithmetic of the Evidently 0.7 stattest of the same name
(`evidently.legacy.calculations.stattests`), but takes the reference side in a form that is
computed once per reference window: a sorted array of the finite values, or counts per value.
Counts are aligned arrays over the union of the values seen in either sample. The last helpers
turn a column into those samples: floats without nulls and infinities, or counts per category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Evidently's floor for the reference standard deviation that norms the Wasserstein distance
WASSERSTEIN_MIN_NORM = 0.001


def wasserstein_normed(
    reference_sorted: np.ndarray, current_sorted: np.ndarray, std: float
) -> float:
    """First Wasserstein distance between two sorted samples, divided by the reference std.

    The area between the two empirical CDFs. The stable argsort of two concatenated sorted
    runs is a linear-time merge, so the cost is that of sorting the current sample once.
    """
    n_ref, n_cur = len(reference_sorted), len(current_sorted)
    merged = np.concatenate([reference_sorted, current_sorted])
    order = np.argsort(merged, kind="stable")
    # on the gap after the k-th merged value (k = 1..n-1), r of them from the reference:
    # |r / n_ref - (k - r) / n_cur| = |r * (n_ref + n_cur) - k * n_ref| / (n_ref * n_cur)
    from_reference = np.cumsum(order[:-1] < n_ref)
    cdf_gap = from_reference * (n_ref + n_cur) - np.arange(1, n_ref + n_cur) * n_ref
    np.abs(cdf_gap, out=cdf_gap)
    area = float(np.dot(cdf_gap, np.diff(merged[order]))) / (n_ref * n_cur)
    return area / max(float(std), WASSERSTEIN_MIN_NORM)


def ks_p_value(reference_sorted: np.ndarray, current: np.ndarray) -> float:
    """Two-sided two-sample Kolmogorov-Smirnov p-value (scipy's exact or asymptotic choice)."""
    from scipy.stats import ks_2samp  # imported on use: scipy.stats takes a second to import

    return float(ks_2samp(reference_sorted, current).pvalue)


def chi_square_p_value(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Chi-square goodness of fit of the current counts to the rescaled reference counts.

    A value absent from the reference has an expected count of 0, so the statistic is
    infinite and the p-value 0, as in Evidently.
    """
    expected = reference_counts * (current_counts.sum() / reference_counts.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.sum((current_counts - expected) ** 2 / expected))
    from scipy.stats import chi2

    return float(chi2.sf(statistic, len(current_counts) - 1))


def z_test_p_value(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Two-sided two-proportion Z-test for a column with at most two values.

    Counts are over the sorted union of values; the proportion tested is that of every value
    but the first, as Evidently does (the two-sided p-value does not depend on which).
    """
    if len(reference_counts) == 1:
        return 1.0  # one value, the same on both sides
    n_ref, n_cur = reference_counts.sum(), current_counts.sum()
    share_ref = float(n_ref - reference_counts[0]) / n_ref
    share_cur = float(n_cur - current_counts[0]) / n_cur
    pooled = (share_ref * n_ref + share_cur * n_cur) / (n_ref + n_cur)
    z = (share_ref - share_cur) / np.sqrt(pooled * (1 - pooled) * (1.0 / n_ref + 1.0 / n_cur))
    # 1 - cdf rather than sf, to underflow to the same 0 as Evidently
    from scipy.stats import norm

    return float(2 * (1 - norm.cdf(np.abs(z))))


def jensen_shannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log) between the two value distributions."""
    from scipy.spatial import distance

    return float(distance.jensenshannon(reference_counts, current_counts))


def _fill_zero_shares(shares: np.ndarray) -> np.ndarray:
    # PSI takes a log ratio, so Evidently replaces empty bins by a small positive share
    smallest = shares[shares > 0].min()
    return np.where(shares == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001, shares)


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index between the two binned distributions."""
    ref = _fill_zero_shares(reference_counts / reference_counts.sum())
    cur = _fill_zero_shares(current_counts / current_counts.sum())
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def sturges_edges(low: float, high: float, size: int) -> np.ndarray:
    """The edges `np.histogram_bin_edges(sample, bins="sturges")` gives for a sample of this size
    and range, without the sample."""
    if low == high:
        return np.linspace(low - 0.5, high + 0.5, 2)
    width = (high - low) / (np.log2(size) + 1.0)
    n_bins = int(np.ceil((high - low) / width))
    return np.linspace(low, high, n_bins + 1)


def histogram_of_sorted(values_sorted: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin, as `np.histogram(values, edges)`: half-open bins, the last one closed."""
    cumulative = np.concatenate(
        [
            np.searchsorted(values_sorted, edges[:-1], side="left"),
            np.searchsorted(values_sorted, edges[-1:], side="right"),
        ]
    )
    return np.diff(cumulative)


def aligned_counts(
    reference_values: np.ndarray, reference_counts: np.ndarray, current: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts over the sorted union of their values.

    `reference_values` are the sorted distinct reference values, `current` the raw sample.
    """
    position = np.minimum(np.searchsorted(reference_values, current), len(reference_values) - 1)
    known = reference_values[position] == current
    new_values, new_counts = np.unique(current[~known], return_counts=True)
    order = np.argsort(np.concatenate([reference_values, new_values]), kind="stable")
    all_reference = np.concatenate([reference_counts, np.zeros(len(new_values), np.int64)])
    all_current = np.concatenate(
        [np.bincount(position[known], minlength=len(reference_values)), new_counts]
    )
    return all_reference[order], all_current[order]


def sturges_counts(
    reference_sorted: np.ndarray, current: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counts in the equal-width bins Evidently takes over reference and current together."""
    current_sorted = np.sort(current)
    edges = sturges_edges(
        min(reference_sorted[0], current_sorted[0]),
        max(reference_sorted[-1], current_sorted[-1]),
        len(reference_sorted) + len(current_sorted),
    )
    return histogram_of_sorted(reference_sorted, edges), histogram_of_sorted(current_sorted, edges)


def finite_values(column: pd.Series) -> np.ndarray:
    """The column as floats, without nulls and infinities (Evidently drops both)."""
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return values[np.isfinite(values)]


def _category_key(value) -> str:
    # 1 and 1.0 are the same category to pandas, so they must be the same string here
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    return str(value)


def category_counts(column: pd.Series) -> dict[str, int]:
    """Counts per non-null value, the values as strings."""
    counts: dict[str, int] = {}
    for value, count in column.value_counts(dropna=True).items():
        if count > 0:  # a pandas Categorical also lists its unused categories
            key = _category_key(value)
            counts[key] = counts.get(key, 0) + int(count)
    return counts
