"""The strategies the loop is compared with, and a count of the model fits each one makes.

All train with the loop's own pipeline (`continual_ml.training.pipeline.fit_candidate`) and
know only the labels that had landed by the day they predict:

- static first champion: the champion `bootstrap` promoted, never replaced (no fit of its own:
  it is the loop's first);
- static on all history: one model fitted on every labelled row of the history;
- retrain every day, no gate: each day a model fitted on the newest `training_window_days`
  labelled days (all labelled days when the config names no window), served the next day.
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


def window_days(config) -> int | None:
    """The window a daily retrain uses: the config's `training_window_days`, if it has one."""
    return getattr(config.model, "training_window_days", None)


class Baselines:
    """The static and daily models, refitted as labelled days become known."""

    def __init__(self, config, rows: pd.DataFrame, history_days: list, counter: FitCounter):
        from continual_ml.training.pipeline import fit_candidate

        self._fit, self._config, self._rows, self._counter = fit_candidate, config, rows, counter
        with counter.on("static_all"):
            self.static_all = self._fit(config, self._labelled(history_days))
        self._daily_on: tuple | None = None
        self.daily = None

    def daily_for(self, known_days: list):
        """The daily retrain's model for the next day, given the labelled days known by then."""
        days = sorted(known_days)
        window = window_days(self._config)
        if window:
            days = [d for d in days if d > days[-1] - timedelta(days=window)]
        if tuple(days) != self._daily_on:  # a day whose labels brought nothing new: no refit
            with self._counter.on("daily"):
                self.daily = self._fit(self._config, self._labelled(days))
            self._daily_on = tuple(days)
        return self.daily

    def _labelled(self, days: list) -> pd.DataFrame:
        config = self._config
        frame = self._rows[self._rows["day"].isin(days)].drop(columns="day")
        return frame.rename(
            columns={config.id_column: "row_id", config.event_time_column: "event_time"}
        )
