"""Growth: a retrain once the rows since a champion trained on all history grow by a share."""

from datetime import datetime

from continual_ml.decisions.data_growth import ChampionTraining, growth_finding, rows_since
from continual_ml.decisions.retrain_policy import (
    GROWTH,
    PartitionObservation,
    RetrainPolicy,
    decide_retrain,
)

NOW = datetime(2026, 1, 10, 12, 0)
ALL = ChampionTraining(end="2026-01-02", rows=1000, window="90d=all")


def day(number: int, n_labelled: int | None = 100, **fields) -> PartitionObservation:
    """A quiet day: no drift, the champion's accuracy, `n_labelled` labels (None: none yet)."""
    accuracy = None if n_labelled is None else 0.9
    return PartitionObservation(
        f"2026-01-{number:02d}",
        0.0,
        realized_accuracy=accuracy,
        n_labelled=n_labelled,
        **fields,
    )


def test_only_labelled_validated_rows_after_the_champions_training_count():
    observations = [
        day(2, 500),  # its own last day
        day(3, 200),
        day(4, 300, validation_passed=False),  # not evidence, and not trained on
        day(5, None),  # labels not in yet
        day(6, 150),
    ]
    assert rows_since(observations, "2026-01-02") == 350


def test_growth_asks_once_the_new_rows_reach_the_share():
    below = [day(3, 250), day(4, 249)]
    assert growth_finding(0.5, below, ALL) == (
        False,
        "499 labelled rows since the champion's training ended on 2026-01-02, 50% of the 1000 "
        "the champion was trained on (all history); retrains at 50%",
    )
    grown, finding = growth_finding(0.5, [*below, day(5, 1)], ALL)
    assert grown and finding.startswith("500 labelled rows since")


def test_a_champion_on_a_shorter_window_or_a_rule_turned_off_never_asks():
    plenty = [day(n, 10_000) for n in range(3, 6)]
    for window in ("14d", "since the shift", "3d=14d"):
        shorter = ChampionTraining("2026-01-02", 1000, window)
        assert growth_finding(0.5, plenty, shorter) == (False, None)
    assert growth_finding(0.0, plenty, ALL) == (False, None)
    assert growth_finding(0.5, plenty, None) == (False, None)  # an event recorded before it


def test_the_policy_retrains_for_growth_and_says_so():
    policy = RetrainPolicy(data_growth=0.5)
    observations = [day(n, 100) for n in range(3, 8)]  # 500 rows since
    decision = decide_retrain(policy, observations, 0.9, [], NOW, champion_training=ALL)
    assert decision.retrain and decision.causes == (GROWTH,)
    assert decision.trigger_partition == "2026-01-07"
    assert "500 labelled rows since the champion's training ended" in decision.reason
    # one day fewer: nothing asks, and the reason says how far growth is
    decision = decide_retrain(policy, observations[:-1], 0.9, [], NOW, champion_training=ALL)
    assert not decision.retrain and "40% of the 1000" in decision.reason
    # turned off
    off = RetrainPolicy(data_growth=0)
    assert not decide_retrain(off, observations, 0.9, [], NOW, champion_training=ALL).retrain


def test_growth_waits_for_a_retrain_in_flight_and_for_the_pacing():
    policy = RetrainPolicy(data_growth=0.5, max_retrains_per_day=1)
    observations = [day(n, 100) for n in range(3, 8)]
    in_flight = decide_retrain(
        policy, observations, 0.9, [], NOW, in_flight="2026-01-06", champion_training=ALL
    )
    assert not in_flight.retrain and "still in flight" in in_flight.reason
    capped = decide_retrain(policy, observations, 0.9, [NOW], NOW, champion_training=ALL)
    assert not capped.retrain and capped.not_before is not None


def test_a_retrain_since_the_champion_counts_the_rows_from_its_own_day():
    """A challenger still in shadow (or refused) used the rows up to its day: growth asks
    again only once as many rows more have landed, not on every day after."""
    observations = [day(n, 100) for n in range(3, 10)]  # 700 rows since the champion
    assert growth_finding(0.5, observations, ALL)[0]
    grown, finding = growth_finding(0.5, observations, ALL, last_retrain="2026-01-07")
    assert not grown and finding.startswith("200 labelled rows since the retrain on 2026-01-07")
    more = [*observations, day(10, 300)]
    assert growth_finding(0.5, more, ALL, last_retrain="2026-01-07")[0]
    # a retrain older than the champion's training does not move the start back
    assert growth_finding(0.5, observations, ALL, last_retrain="2026-01-01")[0]
