"""A shift episode: the first `shift_episode_days` days after the onset of a confirmed change.

Feature drift says the data moved before labels can say whether the champion still predicts it;
when only the concept moves, the labels say it: the champion's realized accuracy falls. Once a run
of drifted partitions is confirmed (`consecutive_partitions` in a row), or a partition's realized
accuracy fell beyond `max_performance_drop` and beyond noise (`accuracy_onset`), the champion's
evidence is about a world that is gone, and the new world's rows are few but growing. So, for the
episode's days:

- **when to retrain**: not before the onset's labels have landed (a challenger trained earlier
  learns the old concept again and is refused), then each time the partitions since the onset
  have grown by half (onset + 2, + 4, + 7, + 11, ... with labels two days late): as fast as
  the new data grows, at a logarithmic number of fits;
- **what to train on** (the retrain run carries the onset as its tag `continual_ml/shift_onset`):
  the rows from the onset on, reaching back before it only as far as the window's floor in rows
  needs, unless the rows since the onset show that the older rows still help (a shift of the
  inputs alone): `training.episode_window`, validated on the new rows only;
- **who must prove what**: the gate's burden flips. Each challenger learnt from more of the new
  rows than the champion did, so it is promoted unless the paired evidence shows it worse (the
  anytime upper bound below zero): the champion must show it is still better
  (`challenger.decide`). Outside an episode the superiority test decides, at ``alpha``.

A shift is a drift that persists: the run must be `consecutive_partitions` long and never
shorter than `MIN_SHIFT_PARTITIONS`, so one noisy day does not flip the burden. Under no change
such a run is rare (each day's drift test controls its own false alarms); a drift of the inputs
that leaves the concept alone still opens an episode, which then costs fits, not accuracy.
`benchmarks.user_datasets` counts the promotions on datasets without a shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

MIN_SHIFT_PARTITIONS = 2
GROWTH = 1.5  # the episode retrains when its days have grown by this factor since the last
ONSET_TAG = "continual_ml/shift_onset"  # on a retrain run: the episode's onset, which it obeys
ACCURACY_ALPHA = 0.01  # a fall of realized accuracy beyond noise, one partition at a time


class DriftDay(Protocol):
    """What a shift episode needs of a partition: its drift share and whether it validated."""

    partition: str
    drift_share: float | None
    validation_passed: bool


def drift_onset(days: Sequence[DriftDay], threshold: float, consecutive: int) -> str | None:
    """The first partition of the newest confirmed drift run, whether or not it still runs.

    A run is validated partitions in a row whose drift share is at or over `threshold`, at
    least `consecutive` (and `MIN_SHIFT_PARTITIONS`) long; partitions with no verdict or that
    failed validation neither extend nor break it.

    >>> from types import SimpleNamespace as Day
    >>> days = [Day(partition=p, drift_share=s, validation_passed=True)
    ...         for p, s in [("d1", 0.1), ("d2", 0.6), ("d3", None), ("d4", 0.5), ("d5", 0.0)]]
    >>> drift_onset(days, 0.3, 2), drift_onset(days, 0.3, 3), drift_onset(days[:3], 0.3, 1)
    ('d2', None, None)
    """
    consecutive = max(consecutive, MIN_SHIFT_PARTITIONS)
    run: list[str] = []
    onset = None
    for day in days:
        if not day.validation_passed or day.drift_share is None:
            continue
        if day.drift_share >= threshold:
            run.append(day.partition)
            continue
        if len(run) >= consecutive:
            onset = run[0]
        run = []
    return run[0] if len(run) >= consecutive else onset


def accuracy_onset(
    days: Sequence,
    promoted: float | None,
    max_drop: float,
    promoted_rows: int | None = None,
    alpha: float = ACCURACY_ALPHA,
) -> str | None:
    """The first partition of the newest run of the champion's own partitions whose realized
    accuracy fell more than `max_drop` below its promoted score, significantly so.

    Labels say it directly, so one partition confirms it: its accuracy on `n_labelled` rows is
    below ``promoted - max_drop``, and below ``promoted`` by more than a one-sided test at
    `alpha` allows, counting the noise of both the day and the `promoted_rows` the promoted
    score was measured on (a small holdout's score is far from exact). Both, not the test
    against the floor: a gradual change falls a little more each day, and a test against the
    floor saw it only once the fall was the allowance plus the noise (on a hyperplane rotating
    slowly, days after the first retrain it asked for). Without row counts, any fall beyond
    `max_drop`.
    `days` are `PartitionObservation`s.

    >>> from types import SimpleNamespace as Day
    >>> def day(p, a, n=600):
    ...     return Day(partition=p, realized_accuracy=a, n_labelled=n, validation_passed=True,
    ...                champion_version=1)
    >>> accuracy_onset([day("d1", 0.90), day("d2", 0.30), day("d3", 0.31)], 0.90, 0.05)
    'd2'
    >>> accuracy_onset([day("d1", 0.90), day("d2", 0.84, n=50)], 0.90, 0.05) is None
    True
    >>> accuracy_onset([day("d1", 0.90), day("d2", 0.82)], 0.90, 0.05, promoted_rows=60) is None
    True
    >>> accuracy_onset([day("d1", 0.90), day("d2", 0.84, n=5000)], 0.90, 0.05, promoted_rows=5000)
    'd2'

    """
    if promoted is None or not days:
        return None
    version = next((d.champion_version for d in reversed(days) if d.champion_version), None)
    run: list[str] = []
    onset = None
    for day in days:
        accuracy = day.realized_accuracy
        if day.champion_version != version or not day.validation_passed or accuracy is None:
            continue
        rows = (getattr(day, "n_labelled", None), promoted_rows)
        if _fell(accuracy, promoted, max_drop, rows, alpha):
            run.append(day.partition)
            continue
        onset, run = (run[0] if run else onset), []
    return run[0] if run else onset


def _fell(accuracy: float, promoted: float, max_drop: float, rows, alpha: float) -> bool:
    """Below the floor (``promoted - max_drop``), and below the promoted score beyond noise:
    the allowance says how far a fall matters, the test whether it is one."""
    if accuracy >= promoted - max_drop:
        return False
    counts = [n for n in rows if n]
    if not counts:
        return True
    from statistics import NormalDist

    variance = max(promoted * (1 - promoted), 1e-6) * sum(1 / n for n in counts)
    return accuracy < promoted - NormalDist().inv_cdf(1 - alpha) * variance**0.5


def episode_open(onset: str | None, latest: str, days: int) -> bool:
    """Whether the shift that began on `onset` is still open on `latest`: within its first
    `days` days (`policy.shift_episode_days`).

    >>> episode_open("2026-03-12", "2026-03-20", 30), episode_open("2026-03-12", "2026-04-11", 30)
    (True, False)
    >>> episode_open(None, "2026-03-20", 30)
    False
    """
    return onset is not None and _days_between(onset, latest) < days


def retrain_due(onset: str, latest: str, last_retrain: str | None) -> bool:
    """Whether the episode's schedule asks for a retrain on `latest`: the first once the onset's
    labels are in (the caller checks them), then each time the partitions since the onset
    (inclusive) have grown by `GROWTH` since the last retrain of the episode.

    >>> retrain_due("2026-03-12", "2026-03-14", None), retrain_due("2026-03-12", "2026-03-14",
    ...     "2026-03-01")
    (True, True)
    >>> [retrain_due("2026-03-12", f"2026-03-{d}", "2026-03-14") for d in (15, 16)]
    [False, True]
    """
    if last_retrain is None or last_retrain < onset:
        return True
    since = _days_between(onset, latest) + 1
    at_last = _days_between(onset, last_retrain) + 1
    return since >= GROWTH * at_last


def _days_between(first: str, last: str) -> int:
    return (date.fromisoformat(last) - date.fromisoformat(first)).days
