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


def test_the_same_slow_rise_within_the_days_noise_is_no_decay():
    # three days of 200 rows whose losses spread 0.6: their mean MAE is a few per cent from the
    # truth by chance, more than the 2% allowed
    errors = [0.80, 0.80, 0.80, 0.82, 0.83, 0.84]
    decision = decide([day(i + 1, e) for i, e in enumerate(errors)], champion_error=0.81)
    assert not decision.retrain
    assert "within noise" in decision.reason


def test_a_day_with_a_single_label_is_no_evidence_of_a_rise_or_a_decay():
    one = PartitionObservation(
        "2026-03-03", 0.0, champion_version=1, n_labelled=1, realized_error=1.3
    )
    decision = decide([day(1, 0.8), day(2, 0.79), one])
    assert not decision.retrain and decision.shift_onset is None
    assert "too few labelled rows" in decision.reason
    steady = [day(i + 1, 0.8, sd=0.01) for i in range(5)]
    late = PartitionObservation(
        "2026-03-06", 0.0, champion_version=1, n_labelled=1, realized_error=1.1
    )
    assert not decide([*steady, late], champion_error=1.2).retrain


def test_a_squared_error_policy_reads_the_mse():
    policy = RetrainPolicy(error_metric="mse", max_performance_drop=0.05)
    decision = decide([day(1, 0.64), day(2, 4.0, sd=2.0)], policy=policy, champion_error=0.64)
    assert decision.retrain and "realized mse on 2026-03-02 rose beyond noise" in decision.reason
