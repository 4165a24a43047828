"""A shift episode: its onset read from the warehouse's drift reports, open until the champion
trained from it on, and the gate's burden flipped for a challenger trained after it."""

from datetime import date

import pandas as pd

from continual_ml import warehouse
from continual_ml.decisions import challenger
from continual_ml.decisions.shift_episode import drift_onset, open_onset
from continual_ml.warehouse.drift_history import DriftDay
from continual_ml_tests.support.paired_scores import paired_days
from continual_ml_tests.support.registered_models import registered


def drifted(conn, shares: dict[int, float], untested: tuple[int, ...] = ()) -> None:
    """Drift reports for 2026-01-<day> with these shares (no feature tested on `untested`)."""
    for day, share in shares.items():
        warehouse.record_drift(
            conn,
            date(2026, 1, day),
            pd.DataFrame(columns=["partition_date", "feature", "method"]),
            n_features=0 if day in untested else 4,
            n_drifted=int(share * 4),
            drift_share=share,
        )


def test_a_confirmed_run_of_drift_has_an_onset_that_outlives_it():
    days = [DriftDay(f"d{i}", s, True) for i, s in enumerate([0.0, 0.5, 0.6, 0.0, 0.1])]
    assert drift_onset(days, 0.3, 1) == "d1"  # over, but the newest confirmed run
    failed = [*days[:2], DriftDay("d2", 0.0, False), DriftDay("d3", 0.7, True)]
    assert drift_onset(failed, 0.3, 1) == "d1"  # a failed day neither extends nor breaks it
    assert drift_onset(days[:2], 0.3, 1) is None  # one day is no shift


def test_the_warehouse_names_the_open_episode_until_the_champion_learned_past_it(conn, config):
    drifted(conn, {1: 0.0, 2: 0.0, 3: 0.8, 4: 0.7, 5: 0.6})
    champion = registered(conn, 1, status="champion")  # trained on 2026-01-01
    assert open_onset(conn, config, date(2026, 1, 5), champion) == "2026-01-03"
    assert open_onset(conn, config, date(2026, 1, 3), champion) is None  # not confirmed yet
    newer = {**champion, "training_start": date(2026, 1, 3)}
    assert open_onset(conn, config, date(2026, 1, 5), newer) is None
    assert open_onset(conn, config, date(2026, 1, 5), None) is None


def test_days_with_no_feature_tested_are_no_evidence(conn, config):
    drifted(conn, {1: 0.0, 2: 0.8, 3: 0.0, 4: 0.9}, untested=(3,))
    champion = registered(conn, 1, status="champion")
    assert open_onset(conn, config, date(2026, 1, 4), champion) == "2026-01-02"


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
