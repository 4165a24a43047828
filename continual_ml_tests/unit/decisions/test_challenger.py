"""A challenger stays open on undecided evidence; a newer one replaces it only on evidence."""

import json
from datetime import date

import numpy as np
import pandas as pd

from continual_ml.decisions import challenger
from continual_ml.decisions.gate_outcome import close_challengers, outcome_of, record_refusal
from continual_ml.warehouse.shadow_scores import record_scores
from continual_ml_tests.support.paired_scores import ROWS_PER_DAY, day_frame, paired_days
from continual_ml_tests.support.registered_models import registered


def scored(conn, model: dict, day: int, accuracy: float, seed: int) -> None:
    """The model's correctness on `day`'s rows (the same row ids for every model)."""
    correct = np.random.default_rng(seed).random(ROWS_PER_DAY) < accuracy
    frame = pd.DataFrame(
        {
            "row_id": [f"d{day}-{i}" for i in range(ROWS_PER_DAY)],
            "partition_date": date(2026, 1, day),
            "score": correct.astype(float),
            "correct": correct,
        }
    )
    record_scores(conn, model["version"], "accuracy", frame)


def decide_and_record(conn, config, model, champion, day, growth=False):
    decision = challenger.decide(conn, config, model, champion, growth=growth)
    gate = {
        "passed": decision.outcome == "promote",
        "reason": decision.reason,
        "details": {"outcome": decision.outcome, "replaces": decision.replaces},
    }
    outcome = outcome_of(gate, require_approval=False)
    if outcome != "promoted":
        record_refusal(conn, model, outcome, gate, "test", date(2026, 1, day))
    return decision


def status(conn, model) -> str:
    return conn.execute(
        "SELECT status FROM model_registry WHERE version = ?", [model["version"]]
    ).fetchone()[0]


def test_an_undecided_candidate_stays_open_and_is_promoted_once_the_evidence_suffices(conn, config):
    champion = registered(conn, 1, status="champion")
    candidate = registered(conn, 2)
    paired_days(conn, candidate, champion, [2], gap=0.03)
    first = decide_and_record(conn, config, candidate, champion, 2)
    assert first.outcome == "keep" and status(conn, candidate) == "challenger"
    assert challenger.judged_on(conn, date(2026, 1, 5)) == (
        challenger.open_challenger(conn),
        "shadow",
    )
    decided_on = None
    for day in range(3, 28):
        paired_days(conn, candidate, champion, [day], gap=0.03)
        decision = decide_and_record(conn, config, candidate, champion, day)
        if decision.outcome != "keep":
            decided_on = day
            break
    assert decision.outcome == "promote" and decided_on is not None
    assert decision.details["sequence_days"] == decided_on - 1  # one row set per day, no doubles


def test_a_worse_challenger_is_refused_for_good(conn, config):
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 2)
    paired_days(conn, champion, candidate, range(2, 12), gap=0.05)
    decision = decide_and_record(conn, config, candidate, champion, 11)
    assert decision.outcome == "refuse" and "upper bound below" in decision.reason
    assert status(conn, candidate) == "rejected"


def test_an_undecided_challenger_is_refused_at_the_horizon(conn, config):
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 2)
    short = config.model_copy(
        update={"policy": config.policy.model_copy(update={"challenger_max_days": 3})}
    )
    paired_days(conn, candidate, champion, [2, 3], gap=0.0, discordant=0.3)
    assert challenger.decide(conn, short, candidate, champion).outcome == "keep"
    paired_days(conn, candidate, champion, [4], gap=0.0, discordant=0.3)
    decision = challenger.decide(conn, short, candidate, champion)
    assert decision.outcome == "refuse" and "no decision after 3 days" in decision.reason


def test_a_newer_candidate_without_evidence_against_the_open_one_does_not_replace_it(conn, config):
    champion, older = registered(conn, 1, status="champion"), registered(conn, 2)
    paired_days(conn, older, champion, [2], gap=0.02)
    decide_and_record(conn, config, older, champion, 2)
    newer = registered(conn, 3)
    # both a little better than the champion on the newer one's holdout, alike each other
    paired_days(conn, newer, champion, [3], gap=0.02, seed=7)
    paired_days(conn, older, champion, [3], gap=0.02, seed=7)
    decision = decide_and_record(conn, config, newer, champion, 3)
    assert decision.outcome == "refuse" and f"v{older['version']} stays the challenger" in (
        decision.reason
    )
    assert status(conn, older) == "challenger" and status(conn, newer) == "rejected"


def test_a_newer_candidate_that_beats_the_open_one_replaces_it(conn, config):
    champion, older = registered(conn, 1, status="champion"), registered(conn, 2)
    paired_days(conn, older, champion, [2], gap=0.01)
    decide_and_record(conn, config, older, champion, 2)
    newer = registered(conn, 3)
    # on the newer one's holdout: a little better than the champion (undecided), and clearly
    # better than the older challenger, which is wrong on many rows both others get right
    paired_days(conn, newer, champion, [3], gap=0.01)
    rng = np.random.default_rng(3)
    newer_right = conn.execute(
        "SELECT correct FROM shadow_scores WHERE model_version = ? ORDER BY row_id",
        [newer["version"]],
    ).fetchnumpy()["correct"]
    older_right = newer_right & (rng.random(ROWS_PER_DAY) > 0.15)
    frame = day_frame(3).sort_values("row_id")
    record_scores(
        conn,
        older["version"],
        "accuracy",
        frame.assign(score=older_right.astype(float), correct=older_right),
    )
    decision = decide_and_record(conn, config, newer, champion, 3)
    assert decision.outcome == "keep" and decision.replaces == older["version"]
    assert status(conn, newer) == "challenger" and status(conn, older) == "rejected"
    history = conn.execute(
        "SELECT action, reason FROM promotions WHERE candidate_version = ?", [older["version"]]
    ).fetchall()
    assert (
        history[-1][0] == "replaced"
        and f"replaced by v{newer['version']} on evidence" in (history[-1][1])
    )


def test_a_new_champion_closes_the_open_challenger(conn, config):
    champion, older = registered(conn, 1, status="champion"), registered(conn, 2)
    paired_days(conn, older, champion, [2], gap=0.01)
    decide_and_record(conn, config, older, champion, 2)
    assert close_challengers(conn, 99, "test") == [older["version"]]
    assert challenger.open_challenger(conn) is None and status(conn, older) == "rejected"


def test_the_candidate_trained_for_a_day_is_judged_on_its_holdout(conn, config):
    registered(conn, 1, status="champion")
    fresh = registered(conn, 4)
    model, mode = challenger.judged_on(conn, date(2026, 1, 4))
    assert (model["version"], mode) == (fresh["version"], "holdout")
    assert challenger.judged_on(conn, date(2026, 1, 5)) is None  # nothing open, nothing new


def test_a_newer_candidate_takes_the_place_of_an_open_one_decided_not_better(conn, config):
    champion, older = registered(conn, 1, status="champion"), registered(conn, 2)
    paired_days(conn, older, champion, [2], gap=0.0, discordant=0.3)
    decide_and_record(conn, config, older, champion, 2)
    # its shadow days since say it is worse, before its own next look
    paired_days(conn, champion, older, range(3, 9), gap=0.05)
    newer = registered(conn, 9)
    paired_days(conn, newer, champion, [9], gap=0.01)
    decision = decide_and_record(conn, config, newer, champion, 9)
    assert decision.outcome == "keep" and decision.replaces == older["version"]
    assert "upper bound below" in decision.reason
    assert status(conn, newer) == "challenger" and status(conn, older) == "rejected"


def trained_on_all_history(conn, *models_rows) -> None:
    """Record each (model, rows) as trained on all history from 2025-12-01 on that many rows."""
    for model, rows in models_rows:
        conn.execute(
            "UPDATE model_registry SET params = ?, n_train = ?, training_start = ? "
            "WHERE version = ?",
            [json.dumps({"training_window": "90d=all"}), rows, date(2025, 12, 1), model["version"]],
        )


def evidence_days(config, days: int):
    policy = config.policy.model_copy(update={"growth_evidence_days": days})
    return config.model_copy(update={"policy": policy})


def test_a_growth_candidate_is_decided_once_on_its_mean_gain_after_its_evidence_days(conn, config):
    """More rows of unchanged data: a gain of about a point is no proof for the anytime test,
    but after `growth_evidence_days` days of paired rows a growth candidate is promoted on its
    mean gain."""
    assert config.policy.growth_evidence_days == 3
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 2)
    for day in (2, 3):
        paired_days(conn, candidate, champion, [day], gap=0.02)
        decision = decide_and_record(conn, config, candidate, champion, day, growth=True)
        assert decision.outcome == "keep" and "until 3 days of evidence" in decision.reason
        assert decision.details["growth_candidate"] is True and "growth" not in decision.details
        assert status(conn, candidate) == "challenger"
    paired_days(conn, candidate, champion, [4], gap=0.02)
    assert challenger.decide(conn, config, candidate, champion).outcome == "keep"  # no proof
    decision = challenger.decide(conn, config, candidate, champion, growth=True)
    assert decision.outcome == "promote" and decision.details["growth"] is True
    assert "+0.0133 over 1200 rows in 3 day(s) above 0 and at least 0" in decision.reason


def test_a_growth_candidate_that_ties_the_champion_at_its_look_is_refused(conn, config):
    """Both right on exactly the same rows: a mean gain of 0 reaches `min_improvement: 0`, but
    an equal model is no reason for a swap and its alerts."""
    assert config.policy.min_improvement == 0
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 2)
    for day in (2, 3, 4):
        paired_days(conn, candidate, champion, [day], gap=0.0, discordant=0.0)
        decision = decide_and_record(conn, config, candidate, champion, day, growth=True)
    assert decision.outcome == "refuse" and "mean gain +0.0000" in decision.reason
    assert "no gain: refused" in decision.reason and status(conn, candidate) == "rejected"


def test_a_growth_candidate_no_better_at_its_one_look_is_refused(conn, config):
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 2)
    for day in (2, 3, 4):  # three points worse, on many discordant rows: not shown worse
        paired_days(conn, champion, candidate, [day], gap=0.03, discordant=0.5)
        decision = decide_and_record(conn, config, candidate, champion, day, growth=True)
    assert decision.outcome == "refuse" and "decided once" in decision.reason
    assert decision.details["sequence_decision"] == "undecided"
    assert status(conn, candidate) == "rejected"  # closed: no second look


def test_a_growth_candidate_shown_worse_is_refused_without_waiting(conn, config):
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 2)
    paired_days(conn, champion, candidate, [2], gap=0.3, discordant=0.3)
    decision = challenger.decide(conn, config, candidate, champion, growth=True)
    assert decision.outcome == "refuse" and "upper bound below" in decision.reason


def test_on_one_evidence_day_a_growth_candidate_must_also_match_an_open_challenger(conn, config):
    """`growth_evidence_days: 1` decides on the holdout alone, where another challenger may be
    open: the candidate is promoted only if no worse than that one on the same rows."""
    config = evidence_days(config, 1)
    champion, waiting = registered(conn, 1, status="champion"), registered(conn, 2)
    paired_days(conn, waiting, champion, [2], gap=0.03)
    assert decide_and_record(conn, config, waiting, champion, 2).outcome == "keep"
    behind = registered(conn, 3)  # better than the champion, worse than the open challenger
    paired_days(conn, behind, champion, [3], gap=0.01, seed=10)
    scored(conn, waiting, 3, accuracy=1.0, seed=0)  # right on every row
    assert challenger.compare(conn, config, behind, champion, "champion").mean >= 0
    decision = challenger.decide(conn, config, behind, champion, growth=True)
    # its one look is spent: refused, not left to a second look as a challenger
    assert decision.outcome == "refuse" and "behind challenger v2" in decision.reason
    assert "growth" not in decision.details
    ahead = registered(conn, 4)
    paired_days(conn, ahead, champion, [4], gap=0.01, seed=30)
    scored(conn, waiting, 4, accuracy=0.0, seed=0)  # wrong on every row
    decision = challenger.decide(conn, config, ahead, champion, growth=True)
    assert decision.outcome == "promote" and "no worse than challenger v2" in decision.reason
    assert "over 400 rows in 1 day(s)" in decision.reason


def test_an_earlier_growth_candidate_on_part_of_the_rows_gives_way_without_a_contest(conn, config):
    """An open challenger trained on all history with fewer rows (an earlier growth candidate)
    is superseded as the champion is; any other open challenger must be beaten on evidence."""
    champion, earlier = registered(conn, 1, status="champion"), registered(conn, 2)
    paired_days(conn, earlier, champion, [2], gap=0.03)
    assert decide_and_record(conn, config, earlier, champion, 2).outcome == "keep"
    newer = registered(conn, 3)
    paired_days(conn, newer, champion, [3], gap=0.01, seed=10)
    scored(conn, earlier, 3, accuracy=1.0, seed=0)  # right on every row: it beats `newer`
    assert challenger.decide(conn, config, newer, champion, growth=True).outcome == "refuse"
    trained_on_all_history(conn, (champion, 1000), (earlier, 1500), (newer, 2000))
    decision = decide_and_record(conn, config, newer, champion, 3, growth=True)
    assert decision.outcome == "keep" and decision.replaces == earlier["version"]
    assert "trained on a part of its rows" in decision.reason
    assert status(conn, newer) == "challenger" and status(conn, earlier) == "rejected"


def test_a_growth_candidate_within_the_margin_is_not_refused_before_its_look(conn, config):
    """Nearly the same model, on many rows: the anytime test soon says it cannot beat the
    champion by the margin, but a growth candidate's gain is small by nature, so it waits for
    its one look and is promoted on its mean gain."""
    champion, candidate = registered(conn, 1, status="champion"), registered(conn, 2)
    rows = 2000
    right = np.arange(rows) % 10 != 0  # both right on 90% of the rows
    better = right.copy()
    better[[0, 10, 20]], better[1] = True, False  # 3 rows more right, 1 fewer: +0.001
    for day in (2, 3, 4):
        frame = pd.DataFrame(
            {"row_id": [f"d{day}-{i}" for i in range(rows)], "partition_date": date(2026, 1, day)}
        )
        for model, correct in ((champion, right), (candidate, better)):
            scores = frame.assign(score=correct.astype(float), correct=correct)
            record_scores(conn, model["version"], "accuracy", scores)
        if day == 3:
            strict = challenger.decide(conn, config, candidate, champion)
            assert strict.outcome == "refuse" and "upper bound below" in strict.reason
            waits = challenger.decide(conn, config, candidate, champion, growth=True)
            assert waits.outcome == "keep"
    decision = challenger.decide(conn, config, candidate, champion, growth=True)
    assert decision.outcome == "promote" and decision.details["growth"] is True
