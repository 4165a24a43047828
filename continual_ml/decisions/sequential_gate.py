"""The sequential gate: promote, refuse for good, or keep watching, on paired rows so far.

A challenger is compared with the champion on every row neither trained on, day after day; the
per-row differences of the gate metric go into `confidence_sequence.running_bounds`, whose
bounds hold at every look. The decision:

- **better** when the lower bound passes ``min_effect``: promote;
- **not better** when the upper bound falls below ``min_effect + margin`` (it cannot be
  ``margin`` better than needed), or after ``max_days`` days of evidence without a decision;
- **undecided** otherwise: it stays a challenger, scored in shadow on the next labelled day.

Each one-sided bound errs with probability at most ``alpha`` over the whole sequence, so under
no change a challenger is promoted with probability at most ``alpha`` however often it is
looked at, and a really better one is refused on the evidence with probability at most
``alpha`` (the horizon can refuse it too: that is its price).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from continual_ml.decisions.confidence_sequence import running_bounds

# A row's log loss is unbounded; the sequence needs a range, so it is capped at that of a
# probability of 0.001 for the truth (about 6.9 nats), stated in the verdict.
LOG_LOSS_CAP = float(-np.log(1e-3))


def score_range(metric: str, n_classes: int = 2) -> float:
    """The width of the range a per-row score lies in, so differences scale into [-1, 1].

    >>> score_range("accuracy"), score_range("brier"), score_range("brier", n_classes=3)
    (1.0, 1.0, 2.0)
    """
    if metric == "accuracy":
        return 1.0
    if metric == "brier":
        return 1.0 if n_classes == 2 else 2.0
    if metric == "log_loss":
        return LOG_LOSS_CAP
    raise ValueError(f"unsupported gate metric {metric!r}")


def bounded_scores(scores, metric: str) -> np.ndarray:
    """Per-row scores (larger is better) put in their range: log loss capped, see above."""
    scores = np.asarray(scores, dtype=float)
    return np.maximum(scores, -LOG_LOSS_CAP) if metric == "log_loss" else scores


@dataclass(frozen=True)
class SequentialSettings:
    alpha: float = 0.05
    min_effect: float = 0.0
    margin: float = 0.01  # the indifference zone above min_effect, in the metric's units
    max_days: int = 30  # days of evidence after which an undecided challenger is refused


@dataclass(frozen=True)
class SequentialVerdict:
    decision: Literal["better", "not_better", "undecided"]
    n: int
    days: int
    mean: float
    lower: float
    upper: float
    reason: str

    def as_details(self) -> dict:
        return {f"sequence_{k}": v for k, v in self.__dict__.items() if k != "reason"}


def sequential_verdict(
    differences,
    days: int,
    settings: SequentialSettings,
    scale: float = 1.0,
    compared: str = "challenger vs champion",
) -> SequentialVerdict:
    """The decision on paired per-row differences (in the metric's units, oldest row first).

    ``scale`` is `score_range` of the metric; ``days`` how many days the rows span.

    >>> rng = np.random.default_rng(0)
    >>> rows = rng.choice([-1, 0, 1], p=[0.02, 0.88, 0.10], size=2000)
    >>> sequential_verdict(rows, days=12, settings=SequentialSettings()).decision
    'better'
    >>> sequential_verdict(rows[:50], days=1, settings=SequentialSettings()).decision
    'undecided'
    >>> sequential_verdict(-rows, days=12, settings=SequentialSettings()).decision
    'not_better'
    """
    d = np.asarray(differences, dtype=float)
    if d.size == 0:
        nan = float("nan")
        reason = f"{compared}: no paired rows yet"
        return SequentialVerdict("undecided", 0, days, nan, nan, nan, reason)
    bounds = running_bounds(np.clip(d / scale, -1, 1), settings.alpha)
    lower, upper = float(bounds.lower[-1] * scale), float(bounds.upper[-1] * scale)
    mean = float(d.mean())
    evidence = (
        f"{compared}: {mean:+.4f} over {d.size} rows in {days} day(s), anytime "
        f"{1 - settings.alpha:.0%} bounds {lower:+.4f}..{upper:+.4f}"
    )
    decision, why = decision_at(lower, upper, days, settings)
    return SequentialVerdict(decision, int(d.size), days, mean, lower, upper, f"{evidence}; {why}")


def decision_at(lower: float, upper: float, days: int, settings: SequentialSettings):
    """The decision and why, from the bounds after `days` days of evidence (see the module)."""
    if lower > settings.min_effect:
        return "better", f"lower bound above min effect {settings.min_effect:g}"
    if upper < settings.min_effect + settings.margin:
        limit = settings.min_effect + settings.margin
        return "not_better", f"upper bound below min effect + margin {limit:g}"
    if days >= settings.max_days:
        return "not_better", f"no decision after {settings.max_days} days of evidence"
    return "undecided", "not decided yet: evidence keeps accumulating"
