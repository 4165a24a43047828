"""When a feature's drift verdict means something: enough values, and a change beyond noise.

Evidently's distances (normed Wasserstein, Jensen-Shannon, PSI), which it picks once the
reference holds more than 1,000 rows, are held to a fixed threshold (0.1) whatever the size of
the current sample; on a small day, sampling noise alone reaches it (issue 25: the first day
of 165 rows against a 7-day reference read drift share 0.43, and retrained for nothing). Two
rules, both in the dataset's `policy:`, keep such days from deciding anything:

- `drift_min_rows`: a feature with fewer non-null current values gets no verdict
  (`TOO_FEW_VALUES`) and leaves the drift share; a day where every feature has too few gives
  no drift verdict at all, and the retraining policy skips it;
- `drift_noise_alpha`: a distance at or over its threshold is drift only when the two samples
  also differ beyond sampling noise: the two-sample K-S p-value (numeric) or the chi-square
  p-value (categories, and numeric features of few values) is below it. 0 turns it off.

The p-value tests Evidently picks for small references already account for the sample size.
"""

from __future__ import annotations

import numpy as np

from continual_ml.monitoring import drift_stats

TOO_FEW_VALUES = "too few values"
WITHIN_NOISE = "within sampling noise"


def too_few(n_current: int, min_rows: int) -> bool:
    """Whether a feature's current sample is too small for any verdict.

    >>> too_few(29, 30), too_few(30, 30), too_few(5, 0)
    (True, False, False)
    """
    return n_current < min_rows


def numeric_noise_p_value(reference_sorted: np.ndarray, current: np.ndarray) -> float:
    """How likely a difference this large between the samples is without any change (K-S)."""
    return drift_stats.ks_p_value(reference_sorted, current)


def counts_noise_p_value(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """The same for counts over the same values (chi-square; a value new to the reference
    gives 0, as a new category is a change whatever the sample size)."""
    return drift_stats.chi_square_p_value(
        reference_counts.astype(np.float64), current_counts.astype(np.float64)
    )


def noise_label(method: str, p_value: float) -> str:
    """The method as recorded when its distance is within noise: the reader sees why a score
    over the threshold is not drift.

    >>> noise_label("Jensen-Shannon distance", 0.4321)
    'Jensen-Shannon distance, within sampling noise (p=0.432)'
    """
    return f"{method}, {WITHIN_NOISE} (p={p_value:.3f})"
