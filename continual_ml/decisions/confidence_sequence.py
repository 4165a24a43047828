"""An anytime-valid confidence sequence for the mean of paired differences in [-1, 1].

Which: the predictable plug-in empirical-Bernstein confidence sequence (PrPl-EB) of
Waudby-Smith & Ramdas, "Estimating means of bounded random variables by betting", JRSS B 2024
(arXiv 2010.09686), Theorem 2, with its default tuning (bets
``lambda_t = min(sqrt(2 log(1/alpha) / (sigma_{t-1}^2 t log(1 + t))), 1/2)``), as two one-sided
sequences, each at level ``alpha``.

Why this one:

- **Valid at every look.** The bounds hold simultaneously for all sample sizes, so the gate may
  look every day, and stop the first day a bound crosses, without inflating its error: the
  probability that a lower bound *ever* exceeds the true mean is at most ``alpha``.
- **Adapts to the variance.** Two models agree on most rows, so the per-row difference is 0
  on most of them and its variance is small (about the share of discordant rows); Hoeffding or a
  normal-mixture bound with the worst-case variance of [-1, 1] would be several times wider.
- **No i.i.d. assumption.** It covers the running average of the conditional means, so days
  whose mean difference changes (drift) are fine: the bound is on "better on average over the
  rows seen so far". (So the bounds are not intersected over time: each t has its own target.)
- **Closed form, O(n).** Cumulative sums only: no grid search as in the hedged-capital betting
  sequence (slightly tighter, much slower), so a benchmark can run it over thousands of seeds.

The rows must come in an order fixed before their outcomes are seen: the gate takes days in
order and, within a day, rows by a hash of their id, so that no systematic order within a day
(sorted ids, time of day) looks like evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Waudby-Smith & Ramdas's truncation of the bets: 1/2 or 3/4 both work; 1/2 is their default.
MAX_BET = 0.5


@dataclass(frozen=True)
class RunningBounds:
    """One-sided bounds on the mean difference after each row: ``lower[t]`` uses rows 0..t."""

    lower: np.ndarray
    upper: np.ndarray

    def __len__(self) -> int:
        return len(self.lower)


def running_bounds(differences, alpha: float = 0.05) -> RunningBounds:
    """Lower and upper anytime-valid bounds on the mean of ``differences``, after every row.

    Parameters
    ----------
    differences
        Paired per-row differences in [-1, 1] (e.g. challenger correct minus champion correct),
        in the order they were observed.
    alpha
        Each one-sided bound fails, at any time at all, with probability at most ``alpha``.

    Returns
    -------
    RunningBounds
        ``lower[t]`` and ``upper[t]`` bound the average of the (conditional) means of rows
        0..t; with probability at least ``1 - alpha`` each holds at every t at once.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> better = rng.choice([-1, 0, 1], p=[0.03, 0.89, 0.08], size=3000)  # true mean +0.05
    >>> bounds = running_bounds(better, alpha=0.05)
    >>> bool(bounds.lower[-1] > 0), bool(bounds.upper[-1] > 0.05)
    (True, True)
    >>> int(np.argmax(bounds.lower > 0))  # the first row after which it is sure
    194
    >>> same = rng.choice([-1, 0, 1], p=[0.05, 0.90, 0.05], size=3000)
    >>> b = running_bounds(same)
    >>> bool(b.lower[-1] < 0 < b.upper[-1])
    True
    """
    d = np.asarray(differences, dtype=float)
    if d.size and not (np.isfinite(d).all() and d.min() >= -1 and d.max() <= 1):
        raise ValueError("differences must be finite and within [-1, 1]")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    if d.size == 0:
        return RunningBounds(np.array([]), np.array([]))
    x = (d + 1) / 2  # the theorem is stated for [0, 1]
    t = np.arange(1, len(x) + 1)
    mean = (0.5 + np.cumsum(x)) / (t + 1)
    variance = (0.25 + np.cumsum((x - mean) ** 2)) / (t + 1)
    # Predictable: the bet on row t uses rows before t only.
    mean_before = np.r_[0.5, mean[:-1]]
    variance_before = np.r_[0.25, variance[:-1]]
    log_alpha = np.log(1 / alpha)
    bets = np.minimum(np.sqrt(2 * log_alpha / (variance_before * t * np.log1p(t))), MAX_BET)
    psi = (-np.log1p(-bets) - bets) / 4
    spent = np.cumsum(4 * (x - mean_before) ** 2 * psi)
    total_bets = np.cumsum(bets)
    centre = np.cumsum(bets * x) / total_bets
    margin = (log_alpha + spent) / total_bets
    # No running intersection: with means that change over time each t bounds its own average,
    # and the intersection of bounds on different quantities would be on none of them.
    lower = np.maximum(centre - margin, 0.0)
    upper = np.minimum(centre + margin, 1.0)
    return RunningBounds(2 * lower - 1, 2 * upper - 1)
