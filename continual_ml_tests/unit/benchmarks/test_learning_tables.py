"""The learning benchmark's tables: row-weighted accuracy, days to a better champion, the goal."""

from benchmarks.learning.tables import accuracy, days_to_better_champion, goal, summarise


def day(champion, rows=100, kept=None, **correct):
    scored = {"loop": 50, "static_first": 50, "static_all": 50, "daily": 50, **correct}
    if kept is not None:
        scored["kept"] = kept
    return {
        "day": f"2026-03-{len(correct) + champion:02d}",
        "rows": rows,
        "champion": champion,
        "correct": scored,
        "runs": [],
        "daily_retrained": True,
    }


def test_accuracy_weighs_days_by_their_rows():
    days = [day(1, rows=100, loop=90), day(1, rows=300, loop=150)]
    assert accuracy(days, "loop") == round(240 / 400, 4)  # not the mean of 0.9 and 0.5
    assert accuracy(days, "kept") is None


def test_a_better_champion_counts_from_the_shift_to_the_first_day_it_serves():
    days = [
        day(1, loop=80),
        day(1, kept=60, loop=60),  # the shift: v1 in charge
        day(2, kept=60, loop=55),  # v2 serves, worse than v1 over its days
        day(3, kept=60, loop=70),  # v3 serves, better over both of its days
        day(3, kept=60, loop=75),
    ]
    assert days_to_better_champion(days, 1, len(days)) == 2
    assert days_to_better_champion(days[:3], 1, 3) is None  # v2 alone never beat v1


def test_the_goal_compares_the_loop_with_the_better_baseline_within_half_a_point():
    days = [
        day(1, loop=86, static_all=90, daily=80),
        day(1, kept=60, loop=70, daily=80),  # the shift, v1 in charge
        day(2, kept=50, loop=90, daily=80),  # v2 serves a day later and beats v1
    ]
    result = {
        "days": days,
        "settings": {"shift_days": [1]},
        "fits": {"loop": 2, "bootstrap": 1, "static_all": 1, "daily": 6},
    }
    summary = summarise(result)
    assert summary["accuracy_all_days"]["loop"] == 0.82
    assert summary["after_shift"]["days_to_better_champion"] == [1]
    assert summary["goal"] == {
        "all_days": True,  # 0.82 against the daily 0.80 and static 0.633
        "after_shift": True,  # 0.80, as the daily
        "fits": True,  # 2 fits against 6
        "better_champion_within_7_days": True,
    }
    summary["fits"]["loop"] = 3
    summary["accuracy_all_days"]["daily"] = 0.826
    assert goal(summary)["fits"] is False and goal(summary)["all_days"] is False


def test_a_shift_no_strategy_could_follow_asks_for_no_better_champion():
    days = [
        day(1, loop=80, daily=80),
        day(1, kept=70, loop=70, daily=68),  # the shift: a fresh model is no better
        day(1, kept=71, loop=71, daily=70),
    ]
    result = {"days": days, "settings": {"shift_days": [1]}, "fits": {"loop": 1, "daily": 6}}
    summary = summarise(result)
    assert summary["after_shift"]["days_to_better_champion"] == [None]
    assert summary["after_shift"]["better_to_be_had"] == [False]
    assert summary["goal"]["better_champion_within_7_days"] is True
    days[2]["correct"]["daily"] = 80  # now retraining every day did better: v1 kept is a miss
    assert summarise(result)["goal"]["better_champion_within_7_days"] is False


def test_the_retrains_are_counted_by_what_asked_for_them():
    retrain = {"job": "retrain_job", "decisions": ["promoted"]}
    days = [day(1), day(1), day(2)]
    days[0]["runs"] = [{**retrain, "causes": "growth"}, {"job": "shadow_job", "decisions": []}]
    days[1]["runs"] = [{**retrain, "causes": "drift,decay"}, {**retrain, "causes": "growth"}]
    days[2]["runs"] = [retrain]  # recorded before causes were kept
    result = {"days": days, "settings": {"shift_days": []}, "fits": {"loop": 4, "daily": 9}}
    summary = summarise(result)
    assert summary["retrains_requested"] == 4
    assert summary["retrain_causes"] == {"growth": 2, "drift,decay": 1, "unrecorded": 1}
