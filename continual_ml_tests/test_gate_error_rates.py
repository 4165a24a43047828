"""The gate-pooling simulation on a small seeded run: pooling only ever adds promotions, and
neither policy promotes a challenger that is no better in most trials."""

from benchmarks.gate_error_rates import run


def test_pooling_promotes_at_least_as_often_and_rarely_a_challenger_that_is_no_better():
    report = run(
        trials=15, candidates=4, gains=(0.0, 0.04), holdout_rows=(600,), output=None, seed=3
    )
    rows = {row["gain"]: row for row in report["rows"]}
    for row in rows.values():
        # the same verdicts go through both: pooling can only turn a refusal into a pass
        assert row["pooled_promoted_share"] >= row["alone_promoted_share"]
    assert rows[0.0]["pooled_promoted_share"] <= 0.3
    assert rows[0.04]["alone_promoted_share"] >= 0.8
