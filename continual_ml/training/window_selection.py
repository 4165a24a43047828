"""Which window a candidate trains on: time-ordered validation among candidate lengths.

Each candidate length (days, or all history) is widened until it holds `min_rows` labelled rows.
When the candidates cover different rows, each is trained on the window ending the day before
the newest labelled block (whole days, at least `validation_rows` rows) and scored on that
block, never shuffled: the one that predicts the newest data best is chosen, and on a tie the
longer one (more rows, the less noisy model). The chosen length then trains on the window
ending at the partition itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig, TrainingWindow
from continual_ml.training.class_probabilities import class_proba
from continual_ml.training.pipeline import fit_candidate
from continual_ml.training.regression_metrics import row_errors

LOWER_IS_BETTER = ("log_loss", "brier", "absolute_error", "squared_error")


@dataclass(frozen=True)
class CandidateScore:
    """One candidate length: the window it trains on and its score on the validation block."""

    name: str
    start: date
    n_rows: int | None  # None when the window was not read to choose it
    n_validation_train: int | None = None
    score: float | None = None  # None when not validated


@dataclass(frozen=True)
class WindowChoice:
    """The chosen candidate, its window, and what each candidate scored."""

    chosen: str
    start: date
    end: date
    metric: str
    reason: str
    candidates: tuple[CandidateScore, ...]
    validation: tuple[date, date, int] | None = None  # the block's first and last day, rows
    shift_onset: date | None = None  # a shift episode's window: the onset it starts from
    validated_through: date | None = None  # the episode's choice was last validated on rows up to
    concept_moved: bool = False  # an episode opened by a fall of accuracy: since shift throughout

    def scores(self) -> dict[str, float]:
        return {c.name: c.score for c in self.candidates if c.score is not None}


def candidate_name(days: int | str) -> str:
    return "all" if days == "all" else f"{days}d"


def window_start(days_of_rows: np.ndarray, days: int | str, min_rows: int, end: date) -> date:
    """The first day of a `days` window ending at `end`, reached back to hold `min_rows` rows.

    `days_of_rows` are the partition days of the labelled rows up to `end`, oldest first.

    >>> days = np.array([date(2026, 1, d) for d in (1, 1, 2, 3, 3, 3)])
    >>> window_start(days, 1, 0, date(2026, 1, 3)), window_start(days, 1, 4, date(2026, 1, 3))
    (datetime.date(2026, 1, 3), datetime.date(2026, 1, 2))
    >>> window_start(days, "all", 0, date(2026, 1, 3)), window_start(days, 2, 9, date(2026, 1, 3))
    (datetime.date(2026, 1, 1), datetime.date(2026, 1, 1))
    """
    first = days_of_rows[0]
    start = first if days == "all" else max(first, end - timedelta(days=days - 1))
    held = int((days_of_rows >= start).sum())
    if held < min_rows:
        # whole days: the day of the min_rows-th newest row, or the first day
        start = days_of_rows[max(0, len(days_of_rows) - min_rows)]
    return start


def validation_score(
    config: DatasetConfig, train: pd.DataFrame, block: pd.DataFrame, metric: str
) -> float:
    """`metric` of a model fitted on `train`, on the later `block`."""
    model = fit_candidate(config, train)
    if config.regression:
        prediction = model.predict(block[config.feature_names])
        return float(row_errors(block[config.label], prediction, metric).mean())
    proba = class_proba(model, config, block)
    index_of = {label: index for index, label in enumerate(config.classes)}
    labels = block[config.label].astype(str if isinstance(config.classes[0], str) else int)
    truth = labels.map(index_of).to_numpy()
    if metric == "accuracy":
        return float((proba.argmax(axis=1) == truth).mean())
    chosen = np.clip(proba[np.arange(len(truth)), truth], 1e-15, 1.0)
    if metric == "log_loss":
        return float(-np.log(chosen).mean())
    onehot = np.eye(len(config.classes))[truth]
    return float(((proba - onehot) ** 2).sum(axis=1).mean())


def validation_block(days_of_rows: np.ndarray, rows_wanted: int) -> date:
    """The first day of the newest whole days that hold at least `rows_wanted` rows."""
    distinct, counts = np.unique(days_of_rows, return_counts=True)
    held = np.cumsum(counts[::-1])
    reached = int(np.searchsorted(held, rows_wanted))
    return distinct[::-1][min(reached, len(distinct) - 1)]


def choose_window(config: DatasetConfig, rows: pd.DataFrame, end: date) -> WindowChoice:
    """The window a candidate for partition `end` trains on, among the configured lengths.

    `rows` are the labelled rows up to `end` (partitions that failed validation left out),
    with `partition_date` and `event_time`; the oldest of them bounds `all`.
    """
    settings: TrainingWindow = config.model.training_window
    metric = config.policy.gate_metric
    rows = rows.sort_values(["event_time", "row_id"], kind="stable")
    days = pd.to_datetime(rows["partition_date"]).dt.date.to_numpy()
    by_start: dict[date, list[str]] = {}
    for length in settings.candidates_days:
        start = window_start(days, length, settings.min_rows, end)
        by_start.setdefault(start, []).append(candidate_name(length))
    # Lengths that cover the same rows are one candidate, named by all of them ("30d=all").
    names = {start: "=".join(group) for start, group in by_start.items()}
    held = {start: int((days >= start).sum()) for start in names}
    if len(names) == 1:
        [(start, name)] = names.items()
        candidates = (CandidateScore(name, start, held[start]),)
        return WindowChoice(name, start, end, metric, "one window to choose from", candidates)
    block_start = validation_block(days, settings.validation_rows)
    earlier = days < block_start
    block = rows[~earlier]
    longest = min(names)
    if earlier.sum() < max(len(block), settings.min_rows, 1):
        reason = (
            f"too little history to validate on ({int(earlier.sum())} rows before the newest "
            f"{len(block)}): the longest window"
        )
        candidates = tuple(CandidateScore(names[s], s, held[s]) for s in sorted(names))
        return WindowChoice(names[longest], longest, end, metric, reason, candidates)
    before = days[earlier]
    validation_end = block_start - timedelta(days=1)
    scored, fitted = [], {}
    for start, name in sorted(names.items()):
        length = next(c for c in settings.candidates_days if candidate_name(c) in name.split("="))
        train_start = window_start(before, length, settings.min_rows, validation_end)
        train = rows[earlier & (days >= train_start)]
        if train_start not in fitted:
            fitted[train_start] = score_or_none(config, train, block, metric)
        scored.append(CandidateScore(name, start, held[start], len(train), fitted[train_start]))
    validated = [c for c in scored if c.score is not None]
    if not validated:
        reason = "no candidate could be fitted on the rows before the validation block"
        return WindowChoice(
            names[longest], longest, end, metric, reason, tuple(scored), _block(block, days)
        )
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    # The best score; on a tie the longer window (the earlier start).
    best = max(validated, key=lambda c: (sign * c.score, -c.start.toordinal()))
    reason = (
        f"{best.name} scored best on the newest {len(block)} labelled rows "
        f"({metric} {best.score:.4f})"
    )
    return WindowChoice(
        best.name, best.start, end, metric, reason, tuple(scored), _block(block, days)
    )


def _block(block: pd.DataFrame, days: np.ndarray) -> tuple[date, date, int]:
    return days[len(days) - len(block)], days[-1], len(block)


def score_or_none(config, train, block, metric) -> float | None:
    """`validation_score`, or None when no model can be fitted on `train`: a classifier's window
    holding one class (logistic regression refuses it), or a window with no labelled row."""
    labels = train[config.label].dropna()
    if labels.nunique() < (1 if config.regression else 2):
        return None
    return validation_score(config, train, block, metric)
