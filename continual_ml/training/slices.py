"""A report per value of a slicing column, for any task's report."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np
import pandas as pd


def reports_by_slice(
    report: Callable[[np.ndarray, np.ndarray], dict], truth, values, slices
) -> dict[Hashable, dict]:
    """`report(truth, values)` on the rows of each value of `slices`, in sorted order; rows
    with a missing slice value form the slice ``None``. `truth` and `values` are arrays."""
    slices = pd.Series(np.asarray(slices, dtype=object))
    if len(slices) != len(truth):
        raise ValueError(f"{len(slices)} slice values for {len(truth)} rows")
    codes, labels = pd.factorize(slices, sort=True, use_na_sentinel=True)
    reports: dict[Hashable, dict] = {}
    for code, label in enumerate(labels):
        key = label.item() if isinstance(label, np.generic) else label
        reports[key] = report(truth[codes == code], values[codes == code])
    if (codes == -1).any():
        reports[None] = report(truth[codes == -1], values[codes == -1])
    return reports
