"""When to retrain: drift in N partitions in a row, accuracy fallen below the champion's, a slow
decay of the champion's realized accuracy, or a follow-up to a retrain that was promoted.

`decide_retrain` is a pure function of the policy, the partitions observed so far, the
champion's promoted score and the retrains already made, so a sensor can call it and say why
it did or did not ask for a run. Partitions that failed validation are not evidence: the newest
one is never retrained on, and older ones neither extend nor break a run of drifted partitions.

A follow-up: when one of the policy's retrains was promoted, the concept may still be moving (a
gradual drift, or a champion trained on a window that straddles the change), and the promoted
score it is judged against is then too low to show it. So the policy retrains again on the next
partition, and keeps doing so until the gate has refused `follow_up_refusals` challengers in a
row: the gate, not a threshold, says when the model has caught up (`follow_up_partition`).

A decay: a gradual drift lowers accuracy a point or two a day, never by `max_performance_drop`
at once, and the promoted score (one holdout, and the best of the challengers that met it) is too
noisy a baseline to see a few points by. So the champion is also compared with itself: the mean
realized accuracy of its last `decay_partitions` partitions against that of its first ones since
the newest retrain (promoted, or refused: a refusal says the champion was still as good as a
fresh model then), over the partitions it has served without a break. A drop of more than
`max_decay` retrains. The sensor passes `HISTORY` partitions, so for an older champion "first"
slides to the oldest of those.

Growth (`data_growth`): a champion trained on all the history there was is retrained once the
labelled rows since reach a share of those it learnt from; on unchanged data more rows help.

A shift episode (`shift_episode`): for `shift_episode_days` after the onset of a confirmed drift
or a fall of accuracy beyond noise, its schedule alone decides (the first retrain once the
onset's labels are in, then each time the partitions since the onset grow by half); drift,
accuracy, decay and follow-ups do not each ask for one more retrain on every day of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from continual_ml.decisions.data_growth import GROWTH, ModelTraining, growth_finding
from continual_ml.decisions.performance_findings import (
    performance_decay,
    performance_finding,
    performance_onset,
)
from continual_ml.decisions.retrain_inputs import PartitionObservation, RetrainPolicy
from continual_ml.decisions.retrain_pacing import blocks as pacing_blocks
from continual_ml.decisions.shift_episode import (
    drift_onset,
    episode_open,
    retrain_due,
)

CAUSES_TAG = "continual_ml/causes"  # on a retrain run: what asked for it, comma-separated
CONCEPT_MOVED = "performance"  # the cause of an episode opened by a fall of realized accuracy


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to retrain, on which partition, why, and when a blocked retrain may run."""

    retrain: bool
    reason: str
    trigger_partition: str | None = None
    causes: tuple[str, ...] = ()
    not_before: datetime | None = None
    shift_onset: str | None = None  # the open shift episode the retrain belongs to


def follow_up_partition(retrains: Sequence[tuple[str, bool]], refusals: int) -> str | None:
    """The newest retrain's partition while a follow-up is due, else None.

    `retrains` are the policy's retrains, oldest first, as (partition, promoted). A follow-up is
    due after a promotion until `refusals` retrains in a row have been refused.
    """
    refused = 0
    for _, promoted in reversed(retrains):
        if promoted:
            return retrains[-1][0] if refused < refusals else None
        refused += 1
    return None


def _drift_run(
    policy: RetrainPolicy, observations: Sequence[PartitionObservation]
) -> tuple[int, str | None]:
    """How many validated partitions in a row, up to the newest, are over the threshold, and
    the first of them.

    A partition with no drift verdict neither extends nor breaks the run, like a failed one.
    """
    run, first = 0, None
    for observation in reversed(observations):
        if not observation.validation_passed or observation.drift_share is None:
            continue
        if observation.drift_share < policy.drift_share_threshold:
            break
        run, first = run + 1, observation.partition
    return run, first


def _labelled(observations: Sequence[PartitionObservation], partition: str | None) -> bool:
    """Whether the labels of `partition` have landed (its realized performance is known)."""
    return any(o.partition == partition and o.labelled for o in observations)


def _fall_finding(policy: RetrainPolicy, fall: str, champion_score: float) -> str:
    if policy.error_metric is not None:
        return (
            f"realized {policy.error_metric} on {fall} rose beyond noise more than "
            f"{policy.max_performance_drop:.1%} above the champion's {champion_score:.3f}"
        )
    return (
        f"realized accuracy on {fall} fell beyond noise more than "
        f"{policy.max_performance_drop:.3f} below the champion's {champion_score:.3f}"
    )


def _drift_finding(policy: RetrainPolicy, latest: PartitionObservation, run: int) -> str:
    threshold, needed = policy.drift_share_threshold, policy.consecutive_partitions
    if latest.drift_share is None:
        return "no drift verdict (too few rows to test)"
    share = f"drift share {latest.drift_share:.2f}"
    if run == 0:
        return f"{share} < threshold {threshold:.2f}"
    if run < needed:
        return (
            f"{share} >= {threshold:.2f} in only {run} of the {needed} partitions in a row needed"
        )
    return f"{share} >= {threshold:.2f} in {run} partitions in a row ({needed} needed)"


def decide_retrain(
    policy: RetrainPolicy,
    observations: Sequence[PartitionObservation],
    champion_score: float | None,
    recent_retrains: Sequence[datetime],
    now: datetime,
    follow_up_from: str | None = None,
    last_retrain: str | None = None,
    in_flight: str | None = None,
    champion_rows: int | None = None,
    known_onset: str | None = None,
    champion_training: ModelTraining | None = None,
    counted: Sequence[PartitionObservation] | None = None,
    last_growth_retrain: str | None = None,
) -> RetrainDecision:
    """Decide on the newest of `observations` (oldest first) whether to retrain now.

    `follow_up_from` is `follow_up_partition` of the policy's retrains so far, and
    `last_retrain` the partition of the newest of them asked for by evidence of a change;
    `last_growth_retrain` that of the newest asked for by growth alone (`data_growth`). A growth
    retrain is no shift's retrain: asked for on a day with no sign of one, it learnt the days
    before, so an onset found later on or before its day still gets the episode's first
    retrain. Both count for growth's spacing. `in_flight` is the partition of a
    retrain the policy asked for that is still queued or running: while it is, no other is
    asked for. Its verdict answers the same evidence (a drift measured against the reference it
    may replace), and a day measured after it is judged afresh; without this, days landing
    faster than a retrain runs each asked for one more (10-second days: eight in a row, all but
    the first three refused). `champion_rows` are the rows the champion's promoted score was
    measured on; `known_onset` the onset of the newest episode a retrain was asked for in;
    `champion_training` what the champion learnt from, and `counted` the partitions (more
    than `observations`, oldest first, up to the newest) the growth rule counts rows over
    (`data_growth`).
    """
    if not observations:
        return RetrainDecision(False, "no partitions observed yet")
    latest = observations[-1]
    prefix = f"{latest.partition}: "
    if not latest.validation_passed:
        return RetrainDecision(False, prefix + "failed validation, so it is not evidence")
    run, run_start = _drift_run(policy, observations)
    # the newest partition's own verdict decides: an older drifted run is not today's evidence
    drifted = latest.drift_share is not None and run >= policy.consecutive_partitions
    drift = _drift_finding(policy, latest, run)
    fell, performance = performance_finding(policy, latest, champion_score, champion_rows)
    # any retrain, growth's included, restarts the decay's baseline (a refused one too: the
    # champion held its own against a fresh model)
    newest = max(filter(None, (last_retrain, last_growth_retrain)), default=None)
    decayed, decay = performance_decay(policy, observations, newest)
    onset = drift_onset(observations, policy.drift_share_threshold, policy.consecutive_partitions)
    fall = performance_onset(policy, observations, champion_score, champion_rows)
    cause = "drift"
    if fall is not None and (onset is None or fall > onset):
        # the labels confirm it at once: nothing to wait for, nothing to see drift again
        onset, drifted, cause = fall, True, "performance"
        drift = _fall_finding(policy, fall, champion_score)
    if known_onset is not None and (onset is None or known_onset > onset):
        onset, cause = known_onset, "performance"  # its retrains go on: its labels are in
    # a shift is against a champion: before the first one, any retrain trains the first model
    champion = champion_score is not None or latest.champion_version is not None
    if champion and episode_open(onset, latest.partition, policy.shift_episode_days):
        found = drift if drifted else None
        # a retrain on or after the onset made for an earlier episode (the newest onset a retrain
        # was asked for with is older) is not this episode's first
        first = last_retrain is None or last_retrain < onset
        first = first or (known_onset is not None and known_onset < onset)
        return _shift_decision(
            policy,
            observations,
            onset,
            cause,
            found,
            last_retrain,
            recent_retrains,
            now,
            in_flight,
            first,
        )
    if champion and drifted and not _labelled(observations, run_start):
        # a challenger trained before the drifted days' labels learns the old data again
        drifted, drift = False, f"{drift}; waiting for the labels of {run_start}"
    follow_up = follow_up_from is not None and follow_up_from < latest.partition
    following = (
        f"following up the retrain on {follow_up_from} until the gate refuses "
        f"{policy.follow_up_refusals} in a row"
    )
    grown, growth = False, None
    if run == 0 and not (fell or decayed):  # growth only on data showing no other change
        grown, growth = growth_finding(
            policy.data_growth, counted or observations, champion_training, newest
        )
    if not (drifted or fell or decayed or follow_up or grown):
        findings = [drift, performance, decay, growth]
        return RetrainDecision(False, prefix + "; ".join(filter(None, findings)))
    found = (("drift", drifted, drift), ("performance", fell, performance))
    found += (("decay", decayed, decay),)
    found += (("follow-up", follow_up, following), (GROWTH, grown, growth))
    causes = tuple(cause for cause, hit, _ in found if hit)
    evidence = "; ".join(text for _, hit, text in found if hit)
    return _asked(policy, latest.partition, evidence, causes, recent_retrains, now, in_flight)


def _asked(policy, partition, evidence, causes, recent_retrains, now, in_flight):
    """A retrain the evidence asks for, unless one is in flight or the pacing blocks it."""
    prefix = f"{partition}: "
    if in_flight is not None:
        reason = f"{prefix}{evidence}, but the retrain on {in_flight} is still in flight"
        return RetrainDecision(False, reason, causes=causes)
    blocks = pacing_blocks(policy, recent_retrains, now)
    if blocks:
        reason = prefix + evidence + ", but " + " and ".join(text for _, text in blocks)
        return RetrainDecision(False, reason, causes=causes, not_before=max(t for t, _ in blocks))
    return RetrainDecision(True, prefix + "retrain: " + evidence, partition, causes)


def _shift_decision(
    policy: RetrainPolicy,
    observations: Sequence[PartitionObservation],
    onset: str,
    cause: str,
    drift: str | None,
    last_retrain: str | None,
    recent_retrains: Sequence[datetime],
    now: datetime,
    in_flight: str | None,
    first: bool,
) -> RetrainDecision:
    """The shift episode's schedule (see `shift_episode`) decides alone while it is open;
    `cause` says what opened it (drift, or a fall of accuracy: performance), `drift` is the
    finding that still shows it on the newest partition, if any; `first` whether the episode
    has had no retrain yet."""
    latest = observations[-1].partition
    prefix = f"{latest}: shift since {onset}"
    causes = (cause,) if first else ("shift",)
    labelled = _labelled(observations, onset)
    if first and drift is None:
        return RetrainDecision(False, f"{prefix} no longer drifts, and nothing was retrained")
    if not labelled:  # a challenger trained before them would learn the old data again
        return RetrainDecision(False, f"{prefix}: waiting for its labels", causes=causes)
    if not first and not retrain_due(onset, latest, last_retrain):
        reason = f"{prefix}: retrained on {last_retrain}; next when the days since it grow by half"
        return RetrainDecision(False, reason, causes=causes)
    if first:
        evidence = f"{drift}; shift since {onset}, its labels in"
    else:
        evidence = f"shift since {onset}: its days grew by half since the retrain on {last_retrain}"
    decision = _asked(policy, latest, evidence, causes, recent_retrains, now, in_flight)
    return replace(decision, shift_onset=onset) if decision.retrain else decision
