"""Shadow scores accumulate per model and row: a day scored again replaces, never adds."""

from datetime import date

import pandas as pd

from continual_ml.warehouse.shadow_scores import daily_comparison, paired_scores, record_scores


def day_scores(day: int, correct, prefix="r"):
    return pd.DataFrame(
        {
            "row_id": [f"{prefix}{day}-{i}" for i in range(len(correct))],
            "partition_date": date(2026, 1, day),
            "score": [float(c) for c in correct],
            "correct": correct,
        }
    )


def test_scoring_a_day_again_does_not_count_its_rows_twice(conn):
    record_scores(conn, 2, "accuracy", day_scores(5, [True, True, False]))
    record_scores(conn, 1, "accuracy", day_scores(5, [True, False, False]))
    first = paired_scores(conn, 2, 1, "accuracy")
    # a re-run of the same day (the same rows, the same scores)
    assert record_scores(conn, 2, "accuracy", day_scores(5, [True, True, False])) == 3
    record_scores(conn, 1, "accuracy", day_scores(5, [True, False, False]))
    again = paired_scores(conn, 2, 1, "accuracy")
    pd.testing.assert_frame_equal(first, again)
    assert len(again) == 3


def test_a_late_label_changes_a_row_in_place(conn):
    record_scores(conn, 2, "accuracy", day_scores(5, [True, True, False]))
    record_scores(conn, 1, "accuracy", day_scores(5, [True, True, True]))
    # the third row's label arrived corrected: the champion is wrong on it after all
    record_scores(conn, 1, "accuracy", day_scores(5, [True, True, False]).iloc[2:])
    pairs = paired_scores(conn, 2, 1, "accuracy")
    assert len(pairs) == 3 and (pairs["score"] - pairs["other_score"]).sum() == 0


def test_evidence_grows_with_each_day_and_pairs_only_rows_both_scored(conn):
    for day in (5, 6, 7):
        record_scores(conn, 2, "accuracy", day_scores(day, [True, True]))
        record_scores(conn, 1, "accuracy", day_scores(day, [True, False]))
    record_scores(conn, 1, "accuracy", day_scores(8, [True]))  # the challenger was not scored
    record_scores(conn, 2, "brier", day_scores(9, [True]))  # another metric
    pairs = paired_scores(conn, 2, 1, "accuracy")
    assert len(pairs) == 6 and list(pairs["partition_date"].drop_duplicates().astype(str)) == [
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
    ]
    daily = daily_comparison(pairs)
    assert daily["n"].tolist() == [2, 2, 2] and daily["other_accuracy"].tolist() == [0.5] * 3


def test_the_order_within_a_day_does_not_follow_the_row_ids(conn):
    record_scores(conn, 2, "accuracy", day_scores(5, [True] * 50))
    record_scores(conn, 1, "accuracy", day_scores(5, [True] * 50))
    ids = paired_scores(conn, 2, 1, "accuracy")["row_id"].tolist()
    assert sorted(ids) == sorted(f"r5-{i}" for i in range(50)) and ids != sorted(ids)
