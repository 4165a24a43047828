"""The strategies the loop is compared with, and a count of the model fits each one makes.

All train with the loop's own pipeline (`continual_ml.training.pipeline.fit_candidate`) and
know only the labels that had landed by the day they predict:

- static first champion: the champion `bootstrap` promoted, never replaced (no fit of its own:
  it is the loop's first);
- static on all history: one model fitted on every labelled row of the history;
- retrain every day, no gate: each day a model fitted on the loop's own training window for
  the newest labelled day (`choose_window`'s validated choice where the code has it, else the
  config's `training_window_days`), served the next day whatever it scores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pandas as pd

ARMS = ("loop", "static_first", "static_all", "daily")
ARM_NAMES = {
    "loop": "loop (continual-ml)",
    "static_first": "static first champion",
    "static_all": "static on all history",
    "daily": "retrain every day, no gate",
}


class FitCounter:
    """Counts every `sklearn.pipeline.Pipeline.fit` in this process, by the arm in charge.

    The loop's runs execute in this process (`execute_in_process`, the CLI's `bootstrap`), so
    every fit it makes (a candidate, a window tried by validation, a tuning fold) passes here;
    fits made inside `counter.on(arm)` are the baselines'. The wrapper only counts: the fit
    itself is sklearn's own.
    """

    def __init__(self) -> None:
        self.fits: Counter[str] = Counter()
        self.arm = "loop"

    def install(self) -> FitCounter:
        from sklearn.pipeline import Pipeline

        original, counter = Pipeline.fit, self

        def counted_fit(pipeline, *args, **kwargs):
            counter.fits[counter.arm] += 1
            return original(pipeline, *args, **kwargs)

        Pipeline.fit = counted_fit
        return self

    @contextmanager
    def on(self, arm: str) -> Iterator[None]:
        previous, self.arm = self.arm, arm
        try:
            yield
        finally:
            self.arm = previous


def window_start(config, rows: pd.DataFrame, days: list):
    """The first day the loop's own rule would train on for a candidate ending on `days[-1]`."""
    try:
        from continual_ml.training.window_selection import choose_window
    except ImportError:  # before windows were chosen by validation: the one fixed length
        window = getattr(config.model, "training_window_days", None)
        return days[0] if window is None else max(days[0], days[-1] - timedelta(days=window - 1))
    return choose_window(config, rows, days[-1]).start


class Baselines:
    """The static and daily models, refitted as labelled days become known."""

    def __init__(self, config, rows: pd.DataFrame, history_days: list, counter: FitCounter):
        from continual_ml.training.pipeline import fit_candidate

        self._fit, self._config, self._rows, self._counter = fit_candidate, config, rows, counter
        with counter.on("static_all"):
            self.static_all = self._fit(config, self._labelled(history_days))
        self._daily_on: tuple | None = None
        self.daily, self.refitted = None, False

    def daily_for(self, known_days: list):
        """The daily retrain's model for the next day, given the labelled days known by then."""
        days = sorted(known_days)
        self.refitted = tuple(days) != self._daily_on
        if self.refitted:  # a day whose labels brought nothing new: no refit
            with self._counter.on("daily"):  # a validated window choice fits models too
                rows = self._labelled(days)
                start = window_start(self._config, rows, days)
                self.daily = self._fit(self._config, rows[rows["partition_date"] >= start])
            self._daily_on = tuple(days)
        return self.daily

    def _labelled(self, days: list) -> pd.DataFrame:
        config = self._config
        frame = self._rows[self._rows["day"].isin(days)].rename(columns={"day": "partition_date"})
        return frame.rename(
            columns={config.id_column: "row_id", config.event_time_column: "event_time"}
        )
