"""Regression datasets for the loop: public data shipped inside installed packages (read
offline, cut into days as `benchmarks.learning.datasets` does) and a seeded synthetic stream
with a known concept shift in its target, and the same stream without it.

- `trump_approval`: river's TrumpApproval (the file `river/datasets/trump_approval.csv.gz` in
  river's wheel): 1,001 consecutive days of 2017-2019, one row a day in date order; five
  pollsters' latest approval figures predict FiveThirtyEight's modelled approval.
- `sp500_returns`: river's SP500Stocks (`river/datasets/sp500.csv.gz`, river >= 0.26): 1,257
  trading days of Feb 2013 - Feb 2018 in date order; ten large stocks' returns of the day
  predict the next day's return of their equal-weighted portfolio. Close to unpredictable, with
  volatility that comes and goes: a hard case for intervals and for any estimate of error.
- `friedman_shift` / `friedman_no_change`: Friedman #1 (five uniform inputs, two of which
  matter only through a sine and a square) plus a categorical segment, with noise whose spread
  grows with a sixth input (`load`), so a model of the error has something to learn. From
  replayed day `SYNTHETIC_SHIFT` on, the shift stream's target answers ``10 * (1 - x4)``
  instead of ``10 * x4``: the features, and even the target's distribution, stay the same, only
  ``p(y | x)`` moves. Both streams share their seed, so their rows before the shift are equal.

The public files hold one row per real day; the replay stamps `per_day` consecutive rows into
one day from 2026-03-01 (`_days`), keeping their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.learning.datasets import _days

TRUMP_PER_DAY, TRUMP_HISTORY = 25, 12
SP500_PER_DAY, SP500_HISTORY = 50, 10
SYNTHETIC_DAYS, SYNTHETIC_PER_DAY, SYNTHETIC_HISTORY = 30, 400, 6
SYNTHETIC_SHIFT = 10  # replayed days before the shift stream's concept changes
SEGMENT_OFFSETS = {"north": 0.0, "south": 2.0, "west": -2.0}
SP500_TICKERS = ("AAPL", "AMZN", "IBM", "INTC", "JNJ", "JPM", "KO", "MSFT", "WMT", "XOM")


def trump_approval() -> pd.DataFrame:
    """1,000 days of polls, 25 a replayed day (the 1,001st left out to fill whole days); the
    date itself is not a feature (it only grows), the row order keeps it."""
    from river import datasets

    rows = pd.DataFrame([{**x, "approval": y} for x, y in datasets.TrumpApproval()]).drop(
        columns="ordinal_date"
    )
    return _days(rows, "poll_id", per_day=TRUMP_PER_DAY)


def sp500_returns() -> pd.DataFrame:
    """1,250 trading days, 50 a replayed day: ten returns (in %) and the next day's portfolio
    return (the label, `next_day_return`)."""
    from river import datasets

    rows = pd.DataFrame(
        [
            {**{t.lower(): x[t] for t in SP500_TICKERS}, "next_day_return": y}
            for x, y in datasets.SP500Stocks()
        ]
    )
    return _days(rows, "trading_day_id", per_day=SP500_PER_DAY)


def friedman_rows(
    shift_day: int | None,
    days: int = SYNTHETIC_DAYS,
    per_day: int = SYNTHETIC_PER_DAY,
    seed: int = 0,
) -> pd.DataFrame:
    """`days` days of the synthetic stream; rows of day `shift_day` (counted from the first
    day, history included) and later follow the shifted concept. No shift with None."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    x = rng.random((n, 6))
    segment = rng.choice(list(SEGMENT_OFFSETS), size=n)
    noise = rng.normal(0.0, 1.0, n) * (0.5 + 2.0 * x[:, 5])
    day = np.arange(n) // per_day
    shifted = np.zeros(n, dtype=bool) if shift_day is None else day >= shift_day
    x4_term = np.where(shifted, 10 * (1 - x[:, 3]), 10 * x[:, 3])
    target = (
        10 * np.sin(np.pi * x[:, 0] * x[:, 1])
        + 20 * (x[:, 2] - 0.5) ** 2
        + x4_term
        + 5 * x[:, 4]
        + pd.Series(segment).map(SEGMENT_OFFSETS).to_numpy()
        + noise
    )
    rows = pd.DataFrame(x[:, :5].round(4), columns=[f"x{i}" for i in range(1, 6)])
    rows["load"] = x[:, 5].round(4)
    rows["segment"] = segment
    rows["target"] = target.round(4)
    return _days(rows, "event_id", per_day=per_day)


def friedman_shift() -> pd.DataFrame:
    return friedman_rows(SYNTHETIC_HISTORY + SYNTHETIC_SHIFT)


def friedman_no_change() -> pd.DataFrame:
    return friedman_rows(None)


@dataclass(frozen=True)
class RegressionDataset:
    """How to build the rows, their numeric label, the replayed days a shift starts on, how
    many days make the history ingested before the replay, and rows per day."""

    build: Callable[[], pd.DataFrame]
    label: str
    shifts: tuple[int, ...]
    history_days: int
    per_day: int


REGRESSION_DATASETS = {
    "trump_approval": RegressionDataset(
        trump_approval, "approval", (), TRUMP_HISTORY, TRUMP_PER_DAY
    ),
    "sp500_returns": RegressionDataset(
        sp500_returns, "next_day_return", (), SP500_HISTORY, SP500_PER_DAY
    ),
    "friedman_shift": RegressionDataset(
        friedman_shift, "target", (SYNTHETIC_SHIFT,), SYNTHETIC_HISTORY, SYNTHETIC_PER_DAY
    ),
    "friedman_no_change": RegressionDataset(
        friedman_no_change, "target", (), SYNTHETIC_HISTORY, SYNTHETIC_PER_DAY
    ),
}
PUBLIC_REGRESSION = ("trump_approval", "sp500_returns")
