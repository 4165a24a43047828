"""A shift episode: its onset from a confirmed drift or a fall of accuracy beyond noise, the
retrains it asks for, and the gate's burden flipped for a challenger trained after it."""

from datetime import datetime
from types import SimpleNamespace

from continual_ml.decisions import challenger
from continual_ml.decisions.retrain_policy import (
    PartitionObservation,
    RetrainPolicy,
    decide_retrain,
)
from continual_ml.decisions.shift_episode import accuracy_onset, drift_onset
from continual_ml_tests.support.paired_scores import paired_days
from continual_ml_tests.support.registered_models import registered

NOW = datetime(2026, 1, 10)


def DriftDay(partition, drift_share, validation_passed):  # noqa: N802 (reads like the record)
    return SimpleNamespace(
        partition=partition, drift_share=drift_share, validation_passed=validation_passed
    )


def test_a_confirmed_run_of_drift_has_an_onset_that_outlives_it():
    days = [DriftDay(f"d{i}", s, True) for i, s in enumerate([0.0, 0.5, 0.6, 0.0, 0.1])]
    assert drift_onset(days, 0.3, 1) == "d1"  # over, but the newest confirmed run
    failed = [*days[:2], DriftDay("d2", 0.0, False), DriftDay("d3", 0.7, True)]
    assert drift_onset(failed, 0.3, 1) == "d1"  # a failed day neither extends nor breaks it
    assert drift_onset(days[:2], 0.3, 1) is None  # one day is no shift


def observed(*accuracies, n=600, version=1):
    return [
        PartitionObservation(
            f"2026-01-{i + 1:02d}", 0.0, realized_accuracy=a, champion_version=version, n_labelled=n
        )
        for i, a in enumerate(accuracies)
    ]


def test_a_fall_of_accuracy_beyond_noise_has_an_onset():
    assert accuracy_onset(observed(0.90, 0.91, 0.70, 0.72), 0.90, 0.05) == "2026-01-03"
    # the newest run: an earlier fall that recovered is over
    assert accuracy_onset(observed(0.70, 0.90, 0.60), 0.90, 0.05) == "2026-01-03"
    # within the allowed drop, or below it by no more than noise on 50 rows: no onset
    assert accuracy_onset(observed(0.90, 0.86), 0.90, 0.05) is None
    assert accuracy_onset(observed(0.90, 0.81, n=50), 0.90, 0.05) is None
    assert accuracy_onset(observed(0.90, 0.70, n=50), 0.90, 0.05) == "2026-01-02"
    # a promoted score measured on a small holdout is noisy too: a fall must clear both
    assert accuracy_onset(observed(0.90, 0.80), 0.90, 0.05) == "2026-01-02"
    assert accuracy_onset(observed(0.90, 0.82), 0.90, 0.05, promoted_rows=60) is None
    assert accuracy_onset(observed(0.90, 0.75), 0.90, 0.05, promoted_rows=60) == "2026-01-02"


def test_a_gradual_fall_beyond_the_allowance_is_an_onset_once_it_is_beyond_noise():
    # on 600-row days against a 600-row holdout, the noise (one-sided, 1%) is about 0.04: a
    # fall of 0.06 is both beyond the allowance and beyond noise, though not beyond their sum
    assert accuracy_onset(observed(0.90, 0.88, 0.84), 0.90, 0.05, promoted_rows=600) == (
        "2026-01-03"
    )
    # a fall beyond noise but within the allowance is not one
    assert accuracy_onset(observed(0.90, 0.86, n=5000), 0.90, 0.05, promoted_rows=5000) is None
    # another model's days say nothing of the champion's
    other = observed(0.30, version=2) + observed(0.90, 0.90)[1:]
    assert accuracy_onset(other, 0.90, 0.05) is None


def test_a_fall_of_accuracy_opens_an_episode_at_once():
    # the labels show it: no drift to wait for, the retrain trains on the days since
    fallen = observed(0.90, 0.91, 0.70)
    decision = decide_retrain(RetrainPolicy(), fallen, 0.90, [], NOW)
    assert decision.retrain and decision.causes == ("performance",)
    assert decision.shift_onset == "2026-01-03"
    assert "realized accuracy on 2026-01-03 fell beyond noise" in decision.reason
    # retrained on its onset's own partition (1 day): again on the next (2 days), then not
    # before the 3rd
    calm = [PartitionObservation(f"2026-01-{d:02d}", 0.0) for d in (4, 5, 6)]
    for latest, last, due in (("04", "03", True), ("05", "05", False), ("05", "04", True)):
        history = [*fallen, *[c for c in calm if c.partition <= f"2026-01-{latest}"]]
        decision = decide_retrain(RetrainPolicy(), history, 0.90, [], NOW, None, f"2026-01-{last}")
        assert decision.retrain is due, decision.reason


def test_a_growth_retrain_after_the_onset_is_not_the_episodes_retrain():
    """Growth asked for a retrain on day 4, with no sign of a change: it learnt days 1-2 (labels
    come two days late). Day 3's labels, measured after it, show a fall: the episode's first
    retrain is due at once. Counted as the episode's, the growth retrain put it off, and a
    growth champion's own days then hid the fall (`friedman_shift`: two days more at five
    times the error)."""
    fallen = observed(0.90, 0.91, 0.70)  # day 3 re-measured as its labels land, on day 5
    as_before = decide_retrain(RetrainPolicy(), fallen, 0.90, [], NOW, None, "2026-01-04")
    assert not as_before.retrain and "retrained on 2026-01-04" in as_before.reason
    decision = decide_retrain(
        RetrainPolicy(), fallen, 0.90, [], NOW, None, None, last_growth_retrain="2026-01-04"
    )
    assert decision.retrain and decision.causes == ("performance",), decision.reason
    assert decision.shift_onset == "2026-01-03"


def test_a_drift_episode_names_its_onset_on_the_retrain():
    shifted = [
        PartitionObservation("2026-01-01", 0.6, realized_accuracy=0.9),
        PartitionObservation("2026-01-02", 0.6),
    ]
    decision = decide_retrain(RetrainPolicy(), shifted, 0.90, [], NOW)
    assert decision.retrain and decision.shift_onset == "2026-01-01"


def test_in_a_shift_a_challenger_not_shown_worse_is_promoted(conn, config):
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 5)
    paired_days(conn, candidate, champion, [5], gap=0.0)
    # without a shift one day of equal evidence decides nothing yet
    assert challenger.decide(conn, config, candidate, champion).outcome == "keep"
    decision = challenger.decide(conn, config, candidate, champion, shift_onset="2026-01-03")
    assert decision.outcome == "promote"
    assert "shift since 2026-01-03" in decision.reason and "not shown worse" in decision.reason
    assert decision.details["shift_onset"] == "2026-01-03"


def test_in_a_shift_a_challenger_shown_worse_is_refused(conn, config):
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 5)
    paired_days(conn, champion, candidate, range(5, 9), gap=0.08)
    decision = challenger.decide(conn, config, candidate, champion, shift_onset="2026-01-03")
    assert decision.outcome == "refuse" and "still shown better" in decision.reason
    assert decision.details["sequence_upper"] < 0


def test_in_a_shift_no_evidence_promotes_nothing(conn, config):
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 5)
    decision = challenger.decide(conn, config, candidate, champion, shift_onset="2026-01-03")
    assert decision.outcome == "keep"


def test_an_episode_outlives_the_fall_that_opened_it():
    # v1 fell on 01-03 and was replaced by v2, which is fine: v2's days show no fall, but the
    # retrain asked for on 01-03 carried the onset, and the episode's schedule goes on
    days = observed(0.90, 0.91, 0.60) + [
        PartitionObservation(f"2026-01-{d:02d}", 0.0, realized_accuracy=0.95, champion_version=2)
        for d in (4, 5)
    ]
    forgotten = decide_retrain(RetrainPolicy(), days, 0.95, [], NOW, None, "2026-01-03")
    assert forgotten.shift_onset is None
    remembered = decide_retrain(
        RetrainPolicy(), days, 0.95, [], NOW, None, "2026-01-03", known_onset="2026-01-03"
    )
    assert remembered.retrain and remembered.causes == ("shift",)
    assert remembered.shift_onset == "2026-01-03"


def test_a_new_shift_on_a_day_retrained_for_the_last_one_gets_its_own_first_retrain():
    # the episode of 01-01 retrained on 01-03 (its schedule); that day's labels then show v1
    # fell: a new episode from 01-03, whose first retrain is not the old episode's
    days = observed(0.90, 0.91, 0.60)
    old = decide_retrain(
        RetrainPolicy(), days, 0.95, [], NOW, None, "2026-01-03", known_onset="2026-01-01"
    )
    assert old.retrain and old.shift_onset == "2026-01-03" and old.causes == ("performance",)
    # once a retrain of the new episode was asked for, the schedule waits again
    same = decide_retrain(
        RetrainPolicy(), days, 0.95, [], NOW, None, "2026-01-03", known_onset="2026-01-03"
    )
    assert not same.retrain and "next when the days since it grow by half" in same.reason
