"""Time to recovery on the live system (slow: ten trials of the whole loop)."""

from benchmarks import recovery


def test_drift_to_new_champion_serving_within_targets(tmp_path):
    results = recovery.main(
        ["--trials", "10", "--workdir", str(tmp_path), "--out", str(tmp_path / "recovery.json")]
    )
    assert results["recovered"] == 10, results["trials"]
    total = results["summary"]["landed→serving"]
    # The targets, from the drifted data arriving to the service answering with the fix.
    assert total["p50"] < 30, total
    assert total["p95"] < 60, total
