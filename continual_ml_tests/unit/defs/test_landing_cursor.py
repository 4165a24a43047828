"""The landing sensor's cursor: its state round-trips, and earlier versions still read."""

import json

from continual_ml.defs.data.landed_batches import LandedDay, batch_key, consecutive_groups
from continual_ml.defs.data.landing_cursor import LandingCursor, run_key, same_file
from continual_ml.ingestion.settling import Seen


def test_the_cursor_round_trips_and_reads_earlier_versions():
    seen = {"b.csv": Seen(3, 4, 5.0)}
    days = {"observations:b.csv:3:4": "2026-01-02", "observations:c.csv:1:1": ""}
    cursor = LandingCursor({"x: gone"}, {"observations:a.csv:1:2"}, seen, {"k"}, days)
    assert LandingCursor.read(cursor.dump()) == cursor
    assert LandingCursor.read(json.dumps(["x: gone"])).reported == {"x: gone"}
    old = LandingCursor.read(json.dumps({"reported": [], "settled": ["s"]}))
    assert old.settled == {"s"} and old.seen == {} and old.asked == set() and old.days == {}


def test_a_key_names_one_version_of_a_file():
    key = run_key("labels", "day:1.csv", 10, 20)
    other = run_key("observations", "day:1.csv", 1, 2)
    assert same_file(key) == "labels:day:1.csv" != same_file(other)


def test_a_batch_key_is_short_and_a_day_is_never_split_between_runs():
    from datetime import date
    from pathlib import Path

    assert batch_key(["only"]) == "only" and len(batch_key([f"k{i}" for i in range(500)])) < 40
    landed = [LandedDay(date(2026, 1, 1 + i // 3), Path(f"{i}.csv"), f"k{i}", 0) for i in range(9)]
    groups = consecutive_groups(landed, max_files=4)
    assert [len(g) for g in groups] == [6, 3]  # the second day joins the first run whole
