"""The gate-pooling simulation on a small seeded run: pooling turns refusals of a challenger that
is better into promotions, and neither policy promotes one that is no better in most trials."""

from benchmarks.gate_error_rates import run


def test_pooling_promotes_a_better_challenger_more_often_and_rarely_one_that_is_no_better():
    report = run(
        trials=15,
        candidates=4,
        gains=(0.0, 0.02, 0.04),
        holdout_rows=(600,),
        output=None,
        seed=3,
    )
    rows = {row["gain"]: row for row in report["rows"]}
    # At a small true gain the gate alone refuses some better challengers; pooling those refusals
    # must promote in more trials (a no-op pool_refusals would leave the two shares equal).
    assert rows[0.02]["pooled_promoted_share"] > rows[0.02]["alone_promoted_share"]
    assert rows[0.0]["pooled_promoted_share"] <= 0.3
    assert rows[0.04]["alone_promoted_share"] >= 0.8
