"""What the champion's accuracy says to the retraining policy: a drop below its promoted score
at once, or a slow decay against its own first partitions (`retrain_policy` explains both)."""

from __future__ import annotations

from collections.abc import Sequence

from continual_ml.decisions.retrain_inputs import PartitionObservation, RetrainPolicy

# accuracy differences are float sums: a drop of exactly the maximum must not count as more
DROP_TOLERANCE = 1e-9


def performance_finding(
    policy: RetrainPolicy, latest: PartitionObservation, champion_score: float | None
) -> tuple[bool, str | None]:
    """Whether accuracy fell too far below the champion's, and how far it fell."""
    if latest.realized_accuracy is not None:
        kind, accuracy = "realized", latest.realized_accuracy
    elif latest.estimated_accuracy is not None:
        kind, accuracy = "estimated", latest.estimated_accuracy
    else:
        return False, None
    if champion_score is None:
        return False, f"{kind} accuracy {accuracy:.3f}, no champion score to compare"
    drop = champion_score - accuracy
    fell = drop > policy.max_performance_drop + DROP_TOLERANCE
    if drop <= 0:
        return (
            False,
            f"{kind} accuracy {accuracy:.3f} is at or above the champion's {champion_score:.3f}",
        )
    return fell, (
        f"{kind} accuracy {accuracy:.3f} is {drop:.3f} below the champion's {champion_score:.3f} "
        f"({'more than' if fell else 'within'} the {policy.max_performance_drop:.3f} allowed)"
    )


def decay_finding(
    policy: RetrainPolicy, observations: Sequence[PartitionObservation], since: str | None
) -> tuple[bool, str | None]:
    """Whether the champion's realized accuracy decayed since its first partitions after `since`."""
    window = policy.decay_partitions
    series = champion_series(observations, since, "realized_accuracy")
    if window == 0 or series is None:  # off, or accuracies of no known model
        return False, None
    # a window compared with itself says nothing: wait for one partition past the first ones
    if len(series) <= window:
        return False, None
    first, last = sum(series[:window]) / window, sum(series[-window:]) / window
    decay = first - last
    decayed = decay > policy.max_decay + DROP_TOLERANCE
    if decay <= 0:
        return False, None
    return decayed, (
        f"realized accuracy over the last {window} partitions {last:.3f} is {decay:.3f} below "
        f"the champion's first {window} since its last retrain ({first:.3f}; "
        f"{'more than' if decayed else 'within'} the {policy.max_decay:.3f} allowed)"
    )


def champion_series(
    observations: Sequence[PartitionObservation], since: str | None, measure: str
) -> list[float] | None:
    """The newest champion's realized `measure` over its own run of validated partitions back
    to the newest retrain after `since`, oldest first; None when no model is known."""
    days = champion_days(observations, since, measure)
    return None if days is None else [getattr(o, measure) for o in days]


def champion_days(
    observations: Sequence[PartitionObservation], since: str | None, measure: str
) -> list[PartitionObservation] | None:
    """The partitions of `champion_series`, whole."""
    version = observations[-1].champion_version
    if version is None:
        return None
    days = []
    for o in reversed(observations):
        if o.champion_version != version or (since is not None and o.partition <= since):
            break  # another model served before it (a rollback's target counts from its return)
        if o.validation_passed and getattr(o, measure) is not None:
            days.append(o)
    days.reverse()
    return days
