import pytest

from continual_ml.config import PolicySettings
from continual_ml.evaluation import decide_promotion


def scores(accuracy):
    return {"accuracy": accuracy, "f1": accuracy, "roc_auc": accuracy, "log_loss": 1 - accuracy}


def test_the_first_model_is_promoted():
    decision = decide_promotion(scores(0.6), None, PolicySettings())
    assert decision.promote and "first" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "champion", "promote"), [(0.9, 0.8, True), (0.8, 0.8, False), (0.7, 0.8, False)]
)
def test_only_a_better_challenger_is_promoted(candidate, champion, promote):
    decision = decide_promotion(
        scores(candidate),
        scores(champion),
        PolicySettings(),
        evaluated_champion=1,
        current_champion=1,
    )
    assert decision.promote is promote
    assert f"{candidate:.4f}" in decision.reason


def test_a_minimum_improvement_is_required():
    policy = PolicySettings(min_improvement=0.05)
    assert not decide_promotion(scores(0.83), scores(0.8), policy, 1, 1).promote
    assert decide_promotion(scores(0.86), scores(0.8), policy, 1, 1).promote


def test_a_stale_comparison_is_refused():
    decision = decide_promotion(
        scores(0.99), scores(0.5), PolicySettings(), evaluated_champion=1, current_champion=2
    )
    assert not decision.promote and "re-evaluate" in decision.reason
