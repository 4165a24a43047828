"""Growth: a retrain once the rows since a champion trained on all history grow by a share."""

from datetime import datetime

from continual_ml.decisions.data_growth import (
    ModelTraining,
    eased_for_growth,
    growth_finding,
    rows_between,
)
from continual_ml.decisions.retrain_policy import (
    GROWTH,
    PartitionObservation,
    RetrainPolicy,
    decide_retrain,
)

NOW = datetime(2026, 1, 10, 12, 0)
ALL = ModelTraining(end="2026-01-02", rows=1000, window="90d=all", start="2025-12-01")


def day(number: int, n_labelled: int | None = 100, drift: float = 0.0, **fields):
    """A quiet day: no drift, the champion's accuracy, `n_labelled` labels (None: none yet)."""
    accuracy = None if n_labelled is None else 0.9
    return PartitionObservation(
        f"2026-01-{number:02d}", drift, realized_accuracy=accuracy, n_labelled=n_labelled, **fields
    )


def test_only_labelled_validated_rows_after_the_start_count():
    observations = [
        day(2, 500),  # the champion's own last day
        day(3, 200),
        day(4, 300, validation_passed=False),  # not evidence, and not trained on
        day(5, None),  # labels not in yet
        day(6, 150),
    ]
    assert rows_between(observations, "2026-01-02", "2026-01-06") == 350
    assert rows_between(observations, "2026-01-02", "2026-01-05") == 200


def test_growth_asks_once_the_new_rows_reach_the_share():
    below = [day(3, 250), day(4, 249)]
    assert growth_finding(0.5, below, ALL) == (
        False,
        "499 labelled rows since the champion's training ended on 2026-01-02, 50% of the 1000 "
        "learnt from by then (the champion trained on all history); retrains at 50%",
    )
    grown, finding = growth_finding(0.5, [*below, day(5, 1)], ALL)
    assert grown and finding.startswith("500 labelled rows since")


def test_a_champion_on_a_shorter_window_or_a_rule_turned_off_never_asks():
    plenty = [day(n, 10_000) for n in range(3, 6)]
    for window in ("14d", "since the shift", "3d=14d"):
        shorter = ModelTraining("2026-01-02", 1000, window)
        assert growth_finding(0.5, plenty, shorter) == (False, None)
    assert growth_finding(0.0, plenty, ALL) == (False, None)
    assert growth_finding(0.5, plenty, None) == (False, None)  # an event recorded before it


def test_after_a_retrain_the_next_waits_for_the_share_of_all_it_learnt_from():
    """A challenger in shadow (or refused) learnt from the champion's rows and those up to its
    day: growth asks again when the rows since reach half of all those, so the retrains come
    further apart as the data grows, not every day after."""
    observations = [day(n, 100) for n in range(3, 16)]  # 1,300 rows since the champion
    assert growth_finding(0.5, observations, ALL)[0]
    # a retrain on day 7 learnt from 1,000 + 500 rows: 750 more are needed, 800 landed
    grown, finding = growth_finding(0.5, observations, ALL, last_retrain="2026-01-07")
    assert grown and finding.startswith("800 labelled rows since the retrain on 2026-01-07")
    assert "of the 1500 learnt from by then" in finding
    assert not growth_finding(0.5, observations[:-1], ALL, last_retrain="2026-01-07")[0]
    # a retrain older than the champion's training does not move the start back
    assert growth_finding(0.5, observations, ALL, last_retrain="2026-01-01")[0]


def decide(observations, **kwargs):
    policy = kwargs.pop("policy", RetrainPolicy(data_growth=0.5))
    return decide_retrain(policy, observations, 0.9, [], NOW, champion_training=ALL, **kwargs)


def test_the_policy_retrains_for_growth_and_says_so():
    observations = [day(n, 100) for n in range(3, 8)]  # 500 rows since
    decision = decide(observations)
    assert decision.retrain and decision.causes == (GROWTH,)
    assert decision.trigger_partition == "2026-01-07"
    assert "500 labelled rows since the champion's training ended" in decision.reason
    # one day fewer: nothing asks, and the reason says how far growth is
    decision = decide(observations[:-1])
    assert not decision.retrain and "40% of the 1000" in decision.reason
    assert not decide(observations, policy=RetrainPolicy(data_growth=0)).retrain


def test_the_policy_counts_from_its_newest_retrain_and_over_the_partitions_given():
    observations = [day(n, 100) for n in range(3, 11)]  # 800 rows since the champion
    assert decide(observations).retrain
    assert not decide(observations, last_retrain="2026-01-07").retrain  # 300 of 1,400
    # a growth retrain counts the same: the next waits for half of all learnt by then
    assert not decide(observations, last_growth_retrain="2026-01-07").retrain
    assert not decide(
        observations, last_retrain="2026-01-04", last_growth_retrain="2026-01-07"
    ).retrain
    # the policy's own look-back is short; growth counts over the longer list it is given
    assert not decide(observations[-4:]).retrain
    assert decide(observations[-4:], counted=observations).retrain


def test_growth_stays_out_of_any_other_evidence():
    quiet = [day(n, 100) for n in range(3, 8)]
    # the newest day drifted, its labels not in yet: drift waits, and growth does not stand in
    waiting = [*quiet[:-1], day(7, None, drift=0.9)]
    decision = decide(waiting, policy=RetrainPolicy(data_growth=0.3))
    assert not decision.retrain and "waiting for the labels" in decision.reason
    assert "labelled rows since" not in decision.reason
    # a shift episode (two drifted days, labelled): its schedule decides, growth is not a cause
    shifted = [*quiet[:-2], day(6, 100, drift=0.9), day(7, 100, drift=0.9)]
    decision = decide(shifted, policy=RetrainPolicy(data_growth=0.3))
    assert decision.retrain and GROWTH not in decision.causes and decision.shift_onset


def test_growth_waits_for_a_retrain_in_flight_and_for_the_pacing():
    policy = RetrainPolicy(data_growth=0.5, max_retrains_per_day=1)
    observations = [day(n, 100) for n in range(3, 8)]
    in_flight = decide(observations, policy=policy, in_flight="2026-01-06")
    assert not in_flight.retrain and "still in flight" in in_flight.reason
    capped = decide_retrain(policy, observations, 0.9, [NOW], NOW, champion_training=ALL)
    assert not capped.retrain and capped.not_before is not None


def test_the_gate_eases_only_a_growth_retrain_on_all_history_and_more_rows():
    more = ModelTraining("2026-01-07", 1500, "all", start="2025-12-01")
    assert eased_for_growth("growth", more, ALL)
    assert not eased_for_growth("drift,growth", more, ALL)  # other evidence too
    assert not eased_for_growth("", more, ALL)  # its training run is gone: no ease
    shorter = ModelTraining("2026-01-07", 1500, "14d", start="2025-12-25")
    assert not eased_for_growth("growth", shorter, ALL)  # older rows hurt it: a change
    fewer = ModelTraining("2026-01-07", 900, "all", start="2025-12-01")
    assert not eased_for_growth("growth", fewer, ALL)
    later = ModelTraining("2026-01-07", 1500, "all", start="2025-12-10")
    assert not eased_for_growth("growth", later, ALL)
