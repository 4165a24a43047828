"""Ingestion hashes and parses one copy of a file, taken while no writer touched it."""

import hashlib

from continual_ml.ingestion.snapshots import stable_copy


def test_the_copy_holds_exactly_the_bytes_hashed(tmp_path):
    path = tmp_path / "day.csv"
    path.write_text("row_id,x\n1,2\n")
    with stable_copy(path, ("csv",)) as facts:
        assert facts.read_path != path and facts.read_path.read_bytes() == path.read_bytes()
        assert facts.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert facts.header == ("row_id", "x")
        copy = facts.read_path
    assert not copy.exists()  # private, and gone with the block
