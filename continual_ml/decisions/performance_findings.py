"""The retraining policy's performance evidence, for an accuracy or for a number's error.

`retrain_policy` asks three questions of the labels, whatever the task: did the newest
partition fall too far below the champion's promoted score, did the champion decay against its
own first partitions, and where did the newest significant fall begin (a shift episode's
onset). A classifier answers them with accuracies (`accuracy_findings`, `shift_episode`), a
regressor with its daily error, lower being better (`regression_policy`): the policy's
`error_metric` says which.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from continual_ml.decisions.accuracy_findings import champion_days, decay_finding
from continual_ml.decisions.accuracy_findings import performance_finding as accuracy_finding
from continual_ml.decisions.regression_policy import (
    error_decay_finding,
    error_onset,
    error_rise_finding,
    noise_margin,
)
from continual_ml.decisions.retrain_inputs import PartitionObservation, RetrainPolicy
from continual_ml.decisions.shift_episode import ACCURACY_ALPHA, accuracy_onset


def performance_finding(
    policy: RetrainPolicy,
    latest: PartitionObservation,
    champion_score: float | None,
    champion_rows: int | None = None,
) -> tuple[bool, str | None]:
    """Whether the newest partition's performance fell too far from the champion's promoted
    score (an accuracy, or for a number its promoted error, beyond noise), and by how much."""
    if policy.error_metric is None:
        return accuracy_finding(policy, latest, champion_score)
    return error_rise_finding(
        policy.max_performance_drop,
        latest.realized_error,
        latest.estimated_error,
        champion_score,
        policy.error_metric,
        noise_margin(latest, champion_rows, ACCURACY_ALPHA),
    )


def performance_decay(
    policy: RetrainPolicy, observations: Sequence[PartitionObservation], since: str | None
) -> tuple[bool, str | None]:
    """Whether the champion's realized performance decayed since its first partitions."""
    if policy.error_metric is None:
        return decay_finding(policy, observations, since)
    days = champion_days(observations, since, "realized_error")
    if days is None:
        return False, None
    window = policy.decay_partitions
    noise = decay_noise(days[:window], days[-window:]) if len(days) > window > 0 else 0.0
    return error_decay_finding(
        window, policy.max_decay, [d.realized_error for d in days], policy.error_metric, noise
    )


def decay_noise(first: Sequence[PartitionObservation], last: Sequence[PartitionObservation]):
    """How far the last partitions' mean error may be above the first ones' by chance,
    one-sided at `ACCURACY_ALPHA`, from the spread of their rows' losses: a share of 2% is
    within what three days of a few hundred rows each show by chance, where two points of
    accuracy over as many rows are not. Unbounded when a day is counted but has no spread (a
    single label), 0 when the rows are unknown (events recorded before monitoring kept them)."""
    from statistics import NormalDist

    days = (*first, *last)
    if any(d.n_labelled and not d.error_sd for d in days):
        return math.inf
    if any(not d.n_labelled for d in days):
        return 0.0
    # the variance of each window's mean error, the days' own means weighted equally
    variance = sum(
        sum(d.error_sd**2 / d.n_labelled for d in window) / len(window) ** 2
        for window in (first, last)
    )
    return NormalDist().inv_cdf(1 - ACCURACY_ALPHA) * variance**0.5


def performance_onset(
    policy: RetrainPolicy,
    observations: Sequence[PartitionObservation],
    champion_score: float | None,
    champion_rows: int | None,
) -> str | None:
    """The first partition of the newest significant fall of the champion's performance."""
    if policy.error_metric is None:
        return accuracy_onset(
            observations, champion_score, policy.max_performance_drop, champion_rows
        )
    return error_onset(
        observations, champion_score, policy.max_performance_drop, champion_rows, ACCURACY_ALPHA
    )
