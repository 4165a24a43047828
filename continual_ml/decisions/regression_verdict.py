"""The gate's verdict on a regression candidate that passed the integrity checks: the paired
test on its holdout (`regression_gate`), pooled with earlier refusals against the same champion,
and with the burden flipped in a shift episode, as `gate_verdict` does for classification.

A regression candidate is promoted or refused on the day: none stays open as a challenger.
"""

from __future__ import annotations

import dataclasses

from continual_ml.config import DatasetConfig
from continual_ml.decisions.regression_gate import (
    RegressionGateResult,
    RegressionGateSettings,
    evaluate_regression_gate,
    pool_regression_refusals,
)
from continual_ml.warehouse.regression_evaluations import (
    refused_regression_comparisons,
    regression_holdout,
)

RESULT_FIELDS = {f.name for f in dataclasses.fields(RegressionGateResult)}


def settings_of(config: DatasetConfig) -> RegressionGateSettings:
    policy = config.policy
    return RegressionGateSettings(
        metric=policy.gate_metric, min_effect=policy.min_improvement, alpha=policy.gate_alpha
    )


def judge_regression(
    conn,
    config: DatasetConfig,
    candidate: dict,
    champion: dict,
    shift_onset: str | None = None,
    growth: bool = False,
) -> tuple[bool, str, dict]:
    """(passed, reason, details): details empty only when no test could run (the holdout was
    not scored against this champion), which the gate treats as a broken candidate. A
    `growth` retrain's candidate is promoted when its holdout's mean improvement reaches
    `min_improvement`, decided on the day (no regression challenger stays open)."""
    holdout = regression_holdout(conn, candidate["version"])
    if holdout.empty or (holdout["champion_version"] != champion["version"]).any():
        return False, f"not evaluated against the current champion v{champion['version']}", {}
    settings = settings_of(config)
    result = evaluate_regression_gate(
        holdout["truth"].to_numpy(),
        holdout["candidate_prediction"].to_numpy(),
        holdout["champion_prediction"].to_numpy(),
        settings,
    )
    refused = refused_regression_comparisons(
        conn,
        champion["version"],
        candidate["version"],
        settings.metric,
        config.policy.gate_pooled_refusals,
    )
    earlier = [
        RegressionGateResult(**{k: v for k, v in r.items() if k in RESULT_FIELDS}) for r in refused
    ]
    result = pool_regression_refusals(result, earlier, settings)
    passed, reason, eased = result.passed, result.reason, False
    if candidate["sha256"] == champion["sha256"]:
        passed, reason = False, f"the same model as the champion; {reason}"
    elif shift_onset is not None:
        episode = f"shift since {shift_onset}, the champion trained before it"
        if result.ci_high < 0:
            passed, reason = False, f"{reason}; {episode}, but it is shown worse: refused"
        else:
            passed = True
            reason = f"{reason}; {episode}: promoted, not shown worse (CI upper bound >= 0)"
    elif growth and not passed and result.improvement >= settings.min_effect:
        passed, eased = True, True
        reason = (
            f"{reason}; trained on all the champion's history and more, with no sign of a "
            f"change: promoted, its holdout's mean improvement at least {settings.min_effect:g}"
        )
    details = {
        **dataclasses.asdict(result),
        "task": "regression",
        "outcome": "promote" if passed else "refuse",
        "replaces": None,
        **({"shift_onset": shift_onset} if shift_onset else {}),
        **({"growth": True} if eased else {}),
    }
    return passed, reason, details
