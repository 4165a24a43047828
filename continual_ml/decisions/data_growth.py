"""A retrain because there is much more data than the champion learnt from.

On data that does not change, a model trained on more rows is usually better, and nothing else
in the policy would notice: no drift, no fall of accuracy, no decay. A retrain every day would
use the new rows, but at the price of a fit a day. So when the champion was trained on all the
labelled history there was (its window validated as "all": nothing older hurt it), the policy
retrains once the labelled rows since its training ended reach `data_growth` of the rows it
learnt from: with the default of a half, the retrains come as the data grows by half each
time, so their number grows with the logarithm of the data, not with the days. The gate
decides as for any challenger: the new model serves only once shown better on rows neither
has seen.

A champion trained on a shorter window was chosen so because older rows predicted the newest
worse: more of them would not help, and growth does not ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from continual_ml.decisions.retrain_inputs import PartitionObservation

ALL_HISTORY = "all"  # the window candidate that reaches back to the oldest labelled row


@dataclass(frozen=True)
class ChampionTraining:
    """What the champion in charge was trained on: its last day, its rows, its window's name
    (as `training.window_selection` names it: "14d", "all", "90d=all", "since the shift")."""

    end: str
    rows: int
    window: str

    @property
    def all_history(self) -> bool:
        return ALL_HISTORY in self.window.split("=")


def rows_since(observations: Sequence[PartitionObservation], end: str) -> int:
    """The labelled rows of validated partitions after `end`."""
    return sum(
        o.n_labelled or 0
        for o in observations
        if o.partition > end and o.validation_passed and o.labelled
    )


def growth_finding(
    share: float,
    observations: Sequence[PartitionObservation],
    champion: ChampionTraining | None,
    last_retrain: str | None = None,
) -> tuple[bool, str | None]:
    """Whether the labelled rows since the champion's training reached `share` of its training
    rows (0 turns the rule off), and what was found.

    A retrain since (`last_retrain`, its partition) used the rows up to it: a challenger still
    in shadow, or one refused, is not asked for again until as many rows more have landed.
    """
    if share <= 0 or champion is None or champion.rows <= 0:
        return False, None
    if not champion.all_history:
        return False, None
    since = max(champion.end, last_retrain or champion.end)
    new = rows_since(observations, since)
    what = "champion's training ended" if since == champion.end else "retrain"
    finding = (
        f"{new} labelled rows since the {what} on {since}, "
        f"{new / champion.rows:.0%} of the {champion.rows} the champion was trained on "
        "(all history)"
    )
    grown = new >= share * champion.rows
    return grown, finding if grown else f"{finding}; retrains at {share:.0%}"
