"""The sequential-gate simulation on a small seeded run: looked at every day, it promotes an
equal challenger at most alpha of the time, where McNemar looked at daily does far more often,
and it still promotes a clearly better one."""

from benchmarks.gate_error_rates import run_sequential


def test_daily_looks_keep_the_sequential_gate_at_alpha_but_not_mcnemar():
    report = run_sequential(
        trials=150, horizons=(30,), gains=(0.0, 0.04), rows_per_day=(165,), seed=5
    )
    rows = {row["gain"]: row for row in report["rows"]}
    assert rows[0.0]["promoted_share"] <= report["settings"]["alpha"]
    # the naive daily McNemar is the reason for the sequence: it must do worse under no change
    assert rows[0.0]["naive_daily_mcnemar_promoted_share"] > rows[0.0]["promoted_share"]
    assert rows[0.04]["promoted_share"] >= 0.9
    assert (
        rows[0.0]["promoted_share"] + rows[0.0]["refused_share"] + rows[0.0]["undecided_share"]
        == 1.0
    )
