"""The window of a shift episode's candidate: the rows since the onset, or a longer window when
the rows since the onset show that the older rows still help.

A shift moves the inputs, the concept, or both. When only the inputs moved, the rows from before
it still teach the concept, and a window holding them predicts the new rows better; when the
concept moved, they teach the old one. Only the rows since the onset can tell which, so they are
split in time order: the newest of them (`validation_rows`, at most half) score, and everything
older trains each of two candidates:

- **since shift**: the rows from the onset on, reaching back before it only as far as the floor
  of `min_rows` rows needs;
- **the longest configured length** (`all`, usually): the rows before the onset too.

The better one trains the candidate on every row of its window. On a tie, since shift: a change
is known to have happened. When the episode was opened by a fall of the champion's realized
accuracy (`concept_moved`), the labels have already answered: the concept moved, the older rows
teach the old one, and since shift is chosen without fitting the two, for every retrain of
the episode (its registry rows record `window_concept_moved`). Otherwise two fits choose. The
episode's later retrains keep the choice until the days since the onset have doubled since it
was made, so an episode validates a logarithmic number of times (a retrain's choice is in its
registry row: `shift_onset`, `window_validated_through`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.training.window_selection import (
    LOWER_IS_BETTER,
    CandidateScore,
    WindowChoice,
    candidate_name,
    score_or_none,
    window_start,
)

SINCE_SHIFT = "since shift"
MIN_VALIDATION_ROWS = 50  # fewer scored rows cannot tell two windows apart


def choose_since_shift(
    config: DatasetConfig,
    rows: pd.DataFrame,
    onset: date,
    end: date,
    earlier: tuple[str, date] | None = None,
    concept_moved: bool = False,
) -> WindowChoice:
    """The window of an episode's candidate for partition `end`, the shift having begun on
    `onset`. `rows` are the labelled rows up to `end`, as for `choose_window`; `earlier` is
    the episode's last validated choice and the partition it was validated on, if any;
    `concept_moved` that the champion's realized accuracy fell at the onset."""
    settings, metric = config.model.training_window, config.policy.gate_metric
    rows = rows.sort_values(["event_time", "row_id"], kind="stable")
    days = pd.to_datetime(rows["partition_date"]).dt.date.to_numpy()
    floor = settings.min_rows
    lengths = {SINCE_SHIFT: (end - onset).days + 1}
    longest = _longest(settings.candidates_days)
    lengths.setdefault(candidate_name(longest), longest)
    starts = {name: window_start(days, length, floor, end) for name, length in lengths.items()}
    held = {name: int((days >= start).sum()) for name, start in starts.items()}
    episode = {"shift_onset": onset}
    if concept_moved:
        reason = (
            f"shift since {onset}: the champion's realized accuracy fell, so the concept moved "
            f"and older rows teach the old one; the rows since it, reaching back to hold {floor}"
        )
        only = (CandidateScore(SINCE_SHIFT, starts[SINCE_SHIFT], held[SINCE_SHIFT]),)
        return WindowChoice(
            SINCE_SHIFT, starts[SINCE_SHIFT], end, metric, reason, only, None, onset, end, True
        )
    if earlier is not None and earlier[0] in lengths and not _doubled(onset, earlier[1], end):
        name, through = earlier
        reason = (
            f"shift since {onset}: {name}, as validated on the rows up to {through}; "
            "validated again once the days since the onset have doubled"
        )
        only = (CandidateScore(name, starts[name], held[name]),)
        return WindowChoice(
            name, starts[name], end, metric, reason, only, None, onset, validated_through=through
        )
    since = np.flatnonzero(days >= onset)
    n_block = min(settings.validation_rows, len(since) // 2)
    if len(set(starts.values())) == 1 or n_block < MIN_VALIDATION_ROWS:
        why = (
            "every candidate holds the same rows"
            if len(set(starts.values())) == 1
            else f"{len(since)} labelled rows since it, too few to validate on"
        )
        only = (CandidateScore(SINCE_SHIFT, starts[SINCE_SHIFT], held[SINCE_SHIFT]),)
        reason = f"shift since {onset}: {why}; the rows since it, reaching back to hold {floor}"
        return WindowChoice(
            SINCE_SHIFT, starts[SINCE_SHIFT], end, metric, reason, only, None, **episode
        )
    scored_rows = np.zeros(len(rows), dtype=bool)
    scored_rows[since[-n_block:]] = True
    block, earlier = rows[scored_rows], rows[~scored_rows]
    earlier_days = days[~scored_rows]
    candidates = []
    for name, length in lengths.items():
        train = earlier[earlier_days >= window_start(earlier_days, length, floor, end)]
        score = score_or_none(config, train, block, metric)
        candidates.append(CandidateScore(name, starts[name], held[name], len(train), score))
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    validated = [c for c in candidates if c.score is not None]
    # The best score; on a tie (or nothing validated) the rows since the shift.
    best = max(validated, key=lambda c: (sign * c.score, c.name == SINCE_SHIFT), default=None)
    chosen = best or candidates[0]
    reason = (
        f"shift since {onset}: {chosen.name} scored best on the newest {n_block} labelled rows "
        f"since it ({metric} {chosen.score:.4f})"
        if best
        else f"shift since {onset}: no candidate could be fitted; the rows since it"
    )
    validation = (days[scored_rows][0], days[scored_rows][-1], n_block)
    return WindowChoice(
        chosen.name,
        chosen.start,
        end,
        metric,
        reason,
        tuple(candidates),
        validation,
        validated_through=end,
        **episode,
    )


def _doubled(onset: date, through: date, end: date) -> bool:
    """Whether the days since `onset` up to `end` are at least twice those up to `through`."""
    return (end - onset).days + 1 >= 2 * ((through - onset).days + 1)


def _longest(candidates_days) -> int | str:
    return "all" if "all" in candidates_days else max(candidates_days)
