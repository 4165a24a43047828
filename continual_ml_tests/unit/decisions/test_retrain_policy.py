"""Exact retraining decisions: hysteresis, accuracy drops, cooldown, daily cap, validation."""

from datetime import datetime, timedelta

import pydantic
import pytest

from continual_ml.decisions.retrain_policy import (
    PartitionObservation,
    RetrainDecision,
    RetrainPolicy,
    decide_retrain,
    follow_up_partition,
)

POLICY = RetrainPolicy(
    drift_share_threshold=0.3,
    consecutive_partitions=2,
    max_performance_drop=0.05,
    cooldown=6,
    max_retrains_per_day=2,
)
NOW = datetime(2026, 1, 10, 12, 0)
HOUR = timedelta(hours=1)


def days(*drift_shares, **latest):
    """Daily partitions from 2026-01-01 with these drift shares; `latest` sets the last one."""
    observations = [
        PartitionObservation(f"2026-01-{i + 1:02d}", share) for i, share in enumerate(drift_shares)
    ]
    last = observations.pop()
    return [*observations, PartitionObservation(last.partition, last.drift_share, **latest)]


def labelled(*drift_shares, **latest):
    """`days` whose labels have landed, each at the champion's accuracy unless `latest` says."""
    observations = [
        PartitionObservation(f"2026-01-{i + 1:02d}", share, realized_accuracy=0.92)
        for i, share in enumerate(drift_shares)
    ]
    last = observations.pop()
    fields = {"realized_accuracy": 0.92, **latest}
    return [*observations, PartitionObservation(last.partition, last.drift_share, **fields)]


def decide(observations, champion_score=0.92, recent_retrains=(), policy=POLICY):
    return decide_retrain(policy, observations, champion_score, list(recent_retrains), NOW)


def test_nothing_observed_is_no_reason_to_retrain():
    assert decide([]) == RetrainDecision(False, "no partitions observed yet")


def test_drift_below_the_threshold_is_explained():
    assert decide(days(0.5, 0.1)) == RetrainDecision(
        False, "2026-01-02: drift share 0.10 < threshold 0.30"
    )


@pytest.mark.parametrize(
    ("drift_shares", "run"),
    [
        ((0.0, 0.5), 1),
        ((0.4, 0.1, 0.5), 1),  # an interruption starts the count again
        ((0.3, 0.3), 2),  # the threshold itself counts as over it
        ((0.1, 0.4, 0.6, 0.5), 3),
    ],
)
def test_drift_needs_consecutive_partitions_over_the_threshold(drift_shares, run):
    # a shift waits for its first day's labels: here they have landed
    decision = decide((labelled if run >= 2 else days)(*drift_shares))
    latest = f"2026-01-{len(drift_shares):02d}"
    onset = f"2026-01-{len(drift_shares) - run + 1:02d}"
    share = f"drift share {drift_shares[-1]:.2f} >= 0.30"
    if run < 2:
        expected = RetrainDecision(
            False, f"{latest}: {share} in only {run} of the 2 partitions in a row needed"
        )
    else:
        expected = RetrainDecision(
            True,
            f"{latest}: retrain: {share} in {run} partitions in a row (2 needed); "
            f"shift since {onset}, its labels in",
            trigger_partition=latest,
            causes=("drift",),
            shift_onset=onset,
        )
    assert decision == expected


def test_a_longer_hysteresis_waits_for_more_partitions():
    policy = POLICY.model_copy(update={"consecutive_partitions": 3})
    assert not decide(labelled(0.5, 0.5), policy=policy).retrain
    assert decide(labelled(0.5, 0.5, 0.5), policy=policy).retrain


def test_a_realized_accuracy_drop_triggers_a_retrain_without_drift():
    decision = decide(days(0.0, realized_accuracy=0.85))
    assert decision == RetrainDecision(
        True,
        "2026-01-01: retrain: realized accuracy on 2026-01-01 fell beyond noise more than 0.050 "
        "below the champion's 0.920; shift since 2026-01-01, its labels in",
        trigger_partition="2026-01-01",
        causes=("performance",),
        shift_onset="2026-01-01",
    )


def test_an_estimated_accuracy_drop_stands_in_for_missing_labels():
    decision = decide(days(0.0, estimated_accuracy=0.80))
    assert decision.retrain and decision.causes == ("performance",)
    assert "estimated accuracy 0.800 is 0.120 below the champion's 0.920" in decision.reason


def test_realized_accuracy_outranks_the_estimate():
    decision = decide(days(0.0, realized_accuracy=0.90, estimated_accuracy=0.70))
    assert decision == RetrainDecision(
        False,
        "2026-01-01: drift share 0.00 < threshold 0.30; realized accuracy 0.900 is 0.020 below "
        "the champion's 0.920 (within the 0.050 allowed)",
    )


def test_a_drop_of_exactly_the_maximum_is_allowed():
    assert not decide(days(0.0, realized_accuracy=0.85), champion_score=0.90).retrain
    assert decide(days(0.0, realized_accuracy=0.849), champion_score=0.90).retrain


def test_without_a_champion_score_accuracy_cannot_trigger():
    decision = decide(days(0.0, realized_accuracy=0.10), champion_score=None)
    assert decision == RetrainDecision(
        False,
        "2026-01-01: drift share 0.00 < threshold 0.30; realized accuracy 0.100, "
        "no champion score to compare",
    )


def test_during_a_shift_its_schedule_alone_decides():
    # an estimated drop on top of the drift adds no cause: the episode's retrain answers both
    decision = decide(labelled(0.5, 0.6, estimated_accuracy=0.50))
    assert decision.retrain and decision.causes == ("drift",)
    assert decision.reason == (
        "2026-01-02: retrain: drift share 0.60 >= 0.30 in 2 partitions in a row (2 needed); "
        "shift since 2026-01-01, its labels in"
    )
    # a realized fall after the drift's onset is a newer onset: the episode starts from it
    fell = decide(labelled(0.5, 0.6, realized_accuracy=0.50))
    assert fell.causes == ("performance",) and fell.shift_onset == "2026-01-02"


def test_a_partition_that_failed_validation_is_never_retrained_on():
    decision = decide(days(0.9, 0.9, realized_accuracy=0.2, validation_passed=False))
    assert decision == RetrainDecision(
        False, "2026-01-02: failed validation, so it is not evidence"
    )


def test_an_older_failed_partition_neither_extends_nor_breaks_a_run():
    failed = PartitionObservation("2026-01-02", 0.9, validation_passed=False)
    first = PartitionObservation("2026-01-01", 0.4, realized_accuracy=0.92)
    last = PartitionObservation("2026-01-03", 0.5)
    assert decide([first, failed, last]).retrain
    calm = PartitionObservation("2026-01-01", 0.1)
    assert "in only 1 of the 2" in decide([calm, failed, last]).reason


def test_the_cooldown_holds_a_retrain_back_and_says_until_when():
    decision = decide(labelled(0.5, 0.5), recent_retrains=[NOW - 26 * HOUR, NOW - 2 * HOUR])
    assert decision == RetrainDecision(
        False,
        "2026-01-02: drift share 0.50 >= 0.30 in 2 partitions in a row (2 needed); shift since "
        "2026-01-01, its labels in, but cooldown until 2026-01-10 16:00 (6 h after "
        "2026-01-10 10:00)",
        causes=("drift",),
        not_before=NOW + 4 * HOUR,
    )
    assert decide(labelled(0.5, 0.5), recent_retrains=[NOW - 6 * HOUR]).retrain


def test_the_daily_cap_holds_a_retrain_back_until_a_slot_frees():
    decision = decide(labelled(0.5, 0.5), recent_retrains=[NOW - 23 * HOUR, NOW - 7 * HOUR])
    assert not decision.retrain and decision.not_before == NOW + HOUR
    assert decision.reason.endswith(
        "but cap reached: 2 retrains in the last 24 h (max 2), next at 2026-01-10 13:00"
    )
    assert decide(labelled(0.5, 0.5), recent_retrains=[NOW - 25 * HOUR, NOW - 7 * HOUR]).retrain


def test_cooldown_and_cap_together_wait_for_the_later_of_the_two():
    decision = decide(labelled(0.5, 0.5), recent_retrains=[NOW - 20 * HOUR, NOW - 1 * HOUR])
    assert decision.not_before == NOW + 5 * HOUR
    assert "cooldown until 2026-01-10 17:00" in decision.reason
    assert "and cap reached: 2 retrains in the last 24 h (max 2), next at 2026-01-10 16:00" in (
        decision.reason
    )


def test_the_policy_reads_a_bare_cooldown_as_hours_and_rejects_unknown_settings():
    assert RetrainPolicy(cooldown=1.5).cooldown == timedelta(minutes=90)
    assert RetrainPolicy(cooldown=timedelta(minutes=5)).cooldown == timedelta(minutes=5)
    with pytest.raises(pydantic.ValidationError):
        RetrainPolicy(cooldown_hours=3)
    with pytest.raises(pydantic.ValidationError):
        RetrainPolicy(consecutive_partitions=0)


def test_a_promotion_is_followed_up_until_the_gate_refuses_twice_in_a_row():
    assert follow_up_partition([], 2) is None
    assert follow_up_partition([("01", False)], 2) is None  # nothing promoted to follow up
    assert follow_up_partition([("01", True)], 2) == "01"
    assert follow_up_partition([("01", True), ("02", False)], 2) == "02"
    assert follow_up_partition([("01", True), ("02", False), ("03", False)], 2) is None
    assert follow_up_partition([("01", True), ("02", False), ("03", True)], 2) == "03"
    assert follow_up_partition([("01", True)], 0) is None  # switched off
    calm = days(0.6, 0.0, realized_accuracy=0.92)
    follow = decide_retrain(POLICY, calm, 0.92, [], NOW, follow_up_from="2026-01-01")
    assert follow.retrain and follow.causes == ("follow-up",)
    assert follow.reason == (
        "2026-01-02: retrain: following up the retrain on 2026-01-01 until the gate refuses "
        "2 in a row"
    )
    assert not decide_retrain(POLICY, calm, 0.92, [], NOW, follow_up_from=None).retrain
    # Not twice on the same partition; and the cooldown and the cap still hold.
    assert not decide_retrain(POLICY, calm, 0.92, [], NOW, follow_up_from="2026-01-02").retrain
    blocked = decide_retrain(POLICY, calm, 0.92, [NOW - HOUR], NOW, follow_up_from="2026-01-01")
    assert not blocked.retrain and blocked.causes == ("follow-up",)


def champion_days(*accuracies, version=1, start=1):
    """Calm partitions from 2026-01-<start> with these realized accuracies of `version`."""
    return [
        PartitionObservation(
            f"2026-01-{start + i:02d}", 0.0, realized_accuracy=a, champion_version=version
        )
        for i, a in enumerate(accuracies)
    ]


def test_a_slow_decay_of_realized_accuracy_triggers_a_retrain():
    # never 5 points below the promoted 0.90 at once, but 3 points down since its first days
    decayed = champion_days(0.90, 0.91, 0.89, 0.88, 0.87, 0.86)
    decision = decide(decayed, champion_score=0.90)
    assert decision.retrain and decision.causes == ("decay",)
    assert decision.reason == (
        "2026-01-06: retrain: realized accuracy over the last 3 partitions 0.870 is 0.030 below "
        "the champion's first 3 since its last retrain (0.900; more than the 0.020 allowed)"
    )
    steady = decide(champion_days(0.90, 0.91, 0.89, 0.90, 0.89, 0.88), champion_score=0.90)
    assert not steady.retrain and "0.010 below the champion's first 3" in steady.reason
    assert "within the 0.020 allowed" in steady.reason


def test_a_decay_is_measured_only_on_the_champion_since_its_last_retrain():
    decayed = champion_days(0.90, 0.91, 0.89, 0.88, 0.87, 0.86)
    # a refusal on 01-03 restarts the baseline at 0.88, 0.87, 0.86: nothing lost since then
    after_refusal = decide_retrain(POLICY, decayed, 0.90, [], NOW, last_retrain="2026-01-03")
    assert not after_refusal.retrain
    # from a refusal on 01-02: 0.89, 0.88, 0.87, 0.86, so 0.870 against 0.880
    later = decide_retrain(POLICY, decayed, 0.90, [], NOW, last_retrain="2026-01-02")
    assert not later.retrain and "0.010 below the champion's first 3" in later.reason
    # a new champion is not judged by the old one's first days
    new_champion = champion_days(0.90, 0.91, 0.89) + champion_days(
        0.88, 0.87, 0.86, 0.86, version=2, start=4
    )
    assert not decide(new_champion, champion_score=0.88).retrain
    # too few partitions to compare a window with another, or the rule switched off
    assert not decide(champion_days(0.90, 0.91, 0.80), champion_score=0.82).retrain
    off = RetrainPolicy(**{**POLICY.model_dump(), "decay_partitions": 0})
    assert not decide(decayed, champion_score=0.90, policy=off).retrain


def test_a_decay_counts_only_the_champions_own_unbroken_run_of_partitions():
    # v1, then v2, then a rollback to v1: v1's days before v2 are not its baseline now
    rolled_back = (
        champion_days(0.95, 0.95, 0.95)
        + champion_days(0.90, version=2, start=4)
        + champion_days(0.91, 0.90, 0.90, 0.89, version=1, start=5)
    )
    assert not decide(rolled_back, champion_score=0.90).retrain
    # accuracies of no known model are no evidence of a decay
    unknown = [
        PartitionObservation(o.partition, 0.0, realized_accuracy=o.realized_accuracy)
        for o in champion_days(0.90, 0.91, 0.89, 0.88, 0.87, 0.86)
    ]
    assert not decide(unknown, champion_score=0.90).retrain


def test_the_policy_and_the_dataset_settings_share_their_defaults():
    from continual_ml.config import PolicySettings

    assert RetrainPolicy.from_settings(PolicySettings()) == RetrainPolicy()


def test_no_second_retrain_is_asked_for_while_one_is_in_flight():
    drifted = labelled(0.6, 0.6, realized_accuracy=0.80)
    assert decide_retrain(POLICY, drifted, 0.92, [], NOW).retrain
    waiting = decide_retrain(POLICY, drifted, 0.92, [], NOW, in_flight="2026-01-01")
    assert not waiting.retrain and waiting.causes == ("performance",)
    assert waiting.reason.endswith("but the retrain on 2026-01-01 is still in flight")
    # its verdict in, the next day is judged afresh
    assert decide_retrain(POLICY, drifted, 0.92, [], NOW, in_flight=None).retrain


def test_a_day_with_no_drift_verdict_is_no_reason_to_retrain():
    # issue 25: a first small day read drift by noise alone; now it reads no verdict
    assert decide(days(None)) == RetrainDecision(
        False, "2026-01-01: no drift verdict (too few rows to test)"
    )
    assert not decide(days(0.5, None)).retrain


def test_a_day_with_no_drift_verdict_neither_extends_nor_breaks_a_run():
    decision = decide(labelled(0.5, None, 0.6))
    assert decision.retrain and decision.causes == ("drift",)
    assert "in 2 partitions in a row" in decision.reason


def test_a_shift_waits_for_the_labels_of_its_first_day():
    # a challenger trained before them learns the old data again, and is refused
    waiting = decide(days(0.5, 0.6, realized_accuracy=0.92))
    assert waiting == RetrainDecision(
        False, "2026-01-02: shift since 2026-01-01: waiting for its labels", causes=("drift",)
    )


def test_one_drifted_day_is_no_shift():
    # with a policy that retrains on one drifted day, that day alone opens no episode
    once = POLICY.model_copy(update={"consecutive_partitions": 1})
    decision = decide(labelled(0.1, 0.6), policy=once)
    assert decision.retrain and decision.causes == ("drift",)
    assert (
        decision.reason
        == "2026-01-02: retrain: drift share 0.60 >= 0.30 in 1 partitions in a row (1 needed)"
    )


def test_a_shift_that_faded_before_its_labels_retrains_nothing():
    faded = decide(labelled(0.5, 0.6, 0.0))
    assert faded == RetrainDecision(
        False, "2026-01-03: shift since 2026-01-01 no longer drifts, and nothing was retrained"
    )


def test_a_shift_retrains_again_each_time_its_days_grow_by_half():
    # onset 01-01, first retrain on 01-03 (3 days): the next on 01-05 (5 >= 4.5 days), not before
    shifted = labelled(0.5, 0.6, 0.6, 0.6, 0.6)
    early = decide_retrain(POLICY, shifted[:4], 0.92, [], NOW, last_retrain="2026-01-03")
    assert early == RetrainDecision(
        False,
        "2026-01-04: shift since 2026-01-01: retrained on 2026-01-03; next when the days since "
        "it grow by half",
        causes=("shift",),
    )
    due = decide_retrain(POLICY, shifted, 0.92, [], NOW, last_retrain="2026-01-03")
    assert due == RetrainDecision(
        True,
        "2026-01-05: retrain: shift since 2026-01-01: its days grew by half since the retrain on "
        "2026-01-03",
        "2026-01-05",
        ("shift",),
        shift_onset="2026-01-01",
    )
    # not even a large estimated drop asks for more while the schedule waits
    dropped = [*shifted[:3], PartitionObservation("2026-01-04", 0.6, estimated_accuracy=0.5)]
    assert not decide_retrain(POLICY, dropped, 0.92, [], NOW, last_retrain="2026-01-03").retrain


def test_a_shift_episode_ends_after_its_days():
    # onset 01-01; with a 5-day episode, 01-06 is past it: the ordinary rules apply again
    short = POLICY.model_copy(update={"shift_episode_days": 5})
    shifted = labelled(0.5, 0.6, 0.6, 0.6, 0.6, 0.6)
    within = decide_retrain(short, shifted[:5], 0.92, [], NOW, last_retrain="2026-01-04")
    assert not within.retrain and within.causes == ("shift",)
    after = decide_retrain(short, shifted, 0.92, [], NOW, last_retrain="2026-01-04")
    assert after.retrain and after.causes == ("drift",) and after.shift_onset is None
    assert after.reason == (
        "2026-01-06: retrain: drift share 0.60 >= 0.30 in 6 partitions in a row (2 needed)"
    )


def test_a_drift_waits_for_the_labels_of_its_first_day_even_when_no_shift_is_confirmed():
    once = POLICY.model_copy(update={"consecutive_partitions": 1})
    waiting = decide(days(0.1, 0.6, realized_accuracy=None), policy=once)
    assert waiting == RetrainDecision(
        False,
        "2026-01-02: drift share 0.60 >= 0.30 in 1 partitions in a row (1 needed); waiting for "
        "the labels of 2026-01-02",
    )
    # before any champion there is nothing to wait for: the retrain trains the first model
    first = decide(days(0.1, 0.6), champion_score=None, policy=once)
    assert first.retrain and first.causes == ("drift",)
