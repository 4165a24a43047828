"""A retrain because there is much more data than the champion learnt from.

On data that does not change, a model trained on more rows is usually better, and nothing else
in the policy would notice: no drift, no fall of accuracy, no decay. A retrain every day would
use the new rows, but at the price of a fit a day. So when the champion was trained on all the
labelled history there was (its window validated as "all": nothing older hurt it), the policy
retrains once the labelled rows since reach `data_growth` of the rows learnt from: the
champion's, plus those up to the newest retrain since (a challenger in shadow or refused used
them). The retrains come as the data grows by that share each time, so their number grows with
the logarithm of the rows, not with the days. Any other evidence on the newest partition
(drift, even while it waits for its labels, a fall, a decay) leaves growth out.

The gate eases its burden for such a retrain (`eased_for_growth`): a candidate trained on all
the history, more rows than the champion, is scored in shadow for `growth_evidence_days`
labelled days and then decided once, promoted if its mean gain over those rows reaches
`min_improvement` (`challenger.growth_decision`). A champion on a shorter window was chosen so
because older rows predicted worse: more of them would not help, and growth does not ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from continual_ml.decisions.retrain_inputs import PartitionObservation

ALL_HISTORY = "all"  # the window candidate that reaches back to the oldest labelled row
GROWTH = "growth"  # the cause of such a retrain, on its run's `continual_ml/causes` tag


@dataclass(frozen=True)
class ModelTraining:
    """What a model was trained on: its first and last day, its rows, its window's name (as
    `training.window_selection` names it: "14d", "all", "90d=all", "since the shift")."""

    end: str
    rows: int
    window: str
    start: str = ""

    @property
    def all_history(self) -> bool:
        return ALL_HISTORY in self.window.split("=")

    @classmethod
    def of(cls, record: dict) -> ModelTraining:
        """From `warehouse.training_params.training_record`."""
        return cls(str(record["end"]), int(record["rows"]), record["window"], str(record["start"]))


def rows_between(observations: Sequence[PartitionObservation], after: str, upto: str) -> int:
    """The labelled rows of validated partitions in (`after`, `upto`]."""
    return sum(
        o.n_labelled or 0
        for o in observations
        if after < o.partition <= upto and o.validation_passed and o.labelled
    )


def growth_finding(
    share: float,
    observations: Sequence[PartitionObservation],
    champion: ModelTraining | None,
    last_retrain: str | None = None,
) -> tuple[bool, str | None]:
    """Whether the labelled rows since the newest training reached `share` of the rows learnt
    from by then (0 turns the rule off), and what was found.

    The newest training is the champion's, or a retrain since it (`last_retrain`, its
    partition), whose rows are the champion's plus those up to it. `observations` are the
    partitions to count over, oldest first.
    """
    if share <= 0 or champion is None or champion.rows <= 0 or not observations:
        return False, None
    if not champion.all_history:
        return False, None
    newest = observations[-1].partition
    since = max(champion.end, last_retrain or champion.end)
    learnt = champion.rows + rows_between(observations, champion.end, since)
    new = rows_between(observations, since, newest)
    what = "champion's training ended" if since == champion.end else "retrain"
    finding = (
        f"{new} labelled rows since the {what} on {since}, {new / learnt:.0%} of the {learnt} "
        "learnt from by then (the champion trained on all history)"
    )
    grown = new >= share * learnt
    return grown, finding if grown else f"{finding}; retrains at {share:.0%}"


def learnt_less(older: ModelTraining, newer: ModelTraining) -> bool:
    """Whether `older` was trained on a part of `newer`'s rows: both on all history, `newer`
    on more rows, from no later a first day. Then `newer` supersedes it without a contest, as
    a growth candidate supersedes a champion."""
    return (
        older.all_history
        and newer.all_history
        and newer.rows > older.rows
        and newer.start <= older.start
    )


def eased_for_growth(causes: str, candidate: ModelTraining, champion: ModelTraining) -> bool:
    """Whether the gate eases its burden for `candidate`: asked for by growth alone (`causes`,
    the tag of the run that trained it), trained on all history and on more rows than the
    champion, from no later a first day."""
    return causes == GROWTH and learnt_less(champion, candidate)
