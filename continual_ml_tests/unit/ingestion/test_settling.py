"""A landed file is taken only once its size and mtime held for the settle time."""

import pandas as pd

from continual_ml.ingestion.settling import Seen, parquet_complete, settle


def test_a_file_is_ready_only_after_its_signature_held_for_the_settle_time():
    state = {}
    for now, signature in [(0.0, (10, 1)), (4.0, (20, 2)), (8.0, (30, 3))]:  # still growing
        result = settle(state, {"day.csv": signature}, now, settle_seconds=5)
        assert result.ready == [] and "day.csv" in result.waiting
        state = result.state
    assert settle(state, {"day.csv": (30, 3)}, 12.0, 5).ready == []  # held 4 s of 5
    assert settle(state, {"day.csv": (30, 3)}, 13.0, 5).ready == ["day.csv"]


def test_a_gone_file_leaves_the_state_and_zero_takes_at_once():
    state = {"gone.csv": Seen(1, 1, 0.0)}
    result = settle(state, {"new.csv": (5, 5)}, 100.0, settle_seconds=0)
    assert result.ready == ["new.csv"] and set(result.state) == {"new.csv"}


def test_a_complete_parquet_file_needs_no_wait(tmp_path):
    path = tmp_path / "day.parquet"
    pd.DataFrame({"x": range(100)}).to_parquet(path)
    assert parquet_complete(path)
    data = path.read_bytes()
    half = tmp_path / "half.parquet"
    half.write_bytes(data[: len(data) // 2])  # a writer still at work: no footer yet
    assert not parquet_complete(half)
    result = settle({}, {"day.parquet": (1, 1), "half.parquet": (2, 2)}, 0.0, 10, {"day.parquet"})
    assert result.ready == ["day.parquet"] and list(result.waiting) == ["half.parquet"]
