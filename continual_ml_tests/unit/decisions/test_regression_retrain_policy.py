"""The retraining policy deciding on a number's daily error: `decide_retrain` with an
`error_metric`, as the retrain sensor calls it for `task: regression`."""

from datetime import datetime

from continual_ml.config import PolicySettings
from continual_ml.decisions.retrain_policy import (
    PartitionObservation,
    RetrainPolicy,
    decide_retrain,
)

NOW = datetime(2026, 3, 20)
POLICY = RetrainPolicy(error_metric="mae", max_performance_drop=0.05)


def day(n: int, error: float | None, sd: float = 0.6, rows: int = 200, **kwargs):
    return PartitionObservation(
        partition=f"2026-03-{n:02d}",
        drift_share=kwargs.pop("drift_share", 0.0),
        champion_version=1,
        n_labelled=rows if error is not None else None,
        realized_error=error,
        error_sd=sd if error is not None else None,
        **kwargs,
    )


def decide(days, policy=POLICY, champion_error=0.8, rows=200, **kwargs):
    return decide_retrain(policy, days, champion_error, [], NOW, champion_rows=rows, **kwargs)


def test_a_regression_gate_metric_makes_the_policy_read_errors():
    assert RetrainPolicy.from_settings(PolicySettings(gate_metric="absolute_error")).error_metric
    assert RetrainPolicy.from_settings(PolicySettings(gate_metric="squared_error")).error_metric
    assert RetrainPolicy.from_settings(PolicySettings()).error_metric is None
    mae = RetrainPolicy.from_settings(PolicySettings(gate_metric="absolute_error"))
    assert mae.error_metric == "mae"


def test_a_significant_rise_of_the_error_opens_an_episode_and_retrains_on_its_labels():
    decision = decide([day(1, 0.8), day(2, 0.79), day(3, 3.4)])
    assert decision.retrain and decision.causes == ("performance",)
    assert decision.shift_onset == "2026-03-03"
    assert "realized mae on 2026-03-03 rose beyond noise" in decision.reason


def test_a_rise_past_the_share_but_within_a_days_noise_does_not_retrain():
    # 10% above the promoted MAE, on 200 rows whose losses spread 0.6: within chance
    decision = decide([day(1, 0.8), day(2, 0.88)])
    assert not decision.retrain
    assert "within noise" in decision.reason


def test_the_same_rise_on_many_rows_with_little_spread_is_beyond_noise():
    decision = decide([day(1, 0.8), day(2, 0.88, sd=0.1, rows=5000)], rows=5000)
    assert decision.retrain and "performance" in decision.causes


def test_without_labels_the_estimated_error_asks_alone():
    estimated = PartitionObservation("2026-03-02", 0.0, champion_version=1, estimated_error=1.2)
    decision = decide([day(1, 0.8), estimated])
    assert decision.retrain and decision.causes == ("performance",)
    assert "estimated mae 1.200" in decision.reason
    assert decision.shift_onset is None  # an estimate opens no episode: labels confirm one


def test_a_slow_decay_of_the_champions_own_error_retrains():
    errors = [0.80, 0.80, 0.80, 0.82, 0.83, 0.84]  # never 5% above the promoted 0.8 at once
    decision = decide([day(i + 1, e, sd=0.01) for i, e in enumerate(errors)], champion_error=0.81)
    assert decision.retrain and decision.causes == ("decay",), decision.reason
    assert "realized mae over the last 3 partitions" in decision.reason


def test_a_classification_policy_ignores_errors():
    policy = RetrainPolicy(max_performance_drop=0.05)
    decision = decide([day(1, 0.8), day(2, 3.4)], policy=policy, champion_error=0.9)
    assert not decision.retrain
