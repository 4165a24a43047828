from benchmarks.promotion import run


def test_the_gate_keeps_blind_accuracy_with_far_fewer_swaps():
    summary = run(16)
    assert summary["gated_promoted"] + summary["gated_rejected"] == summary["trained"] == 14
    assert summary["gated_promoted"] <= summary["blind_promoted"] / 2
    assert summary["gated_mean_accuracy"] >= summary["blind_mean_accuracy"] - 0.005
