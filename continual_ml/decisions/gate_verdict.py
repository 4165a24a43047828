"""The gate's whole verdict on a candidate: integrity first, then the paired test."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import NamedTuple

from continual_ml.decisions.gate import GateResult, GateSettings, check_compatibility, evaluate_gate
from continual_ml.decisions.gate_pooling import pool_refusals
from continual_ml.training.class_probabilities import stored_matrix
from continual_ml.warehouse import registry


class Verdict(NamedTuple):
    passed: bool
    reason: str
    # The paired test's statistics; empty when no test was run (first model, broken candidate).
    details: dict

    @property
    def broken(self) -> bool:
        """Refused before any statistics: a tampered artifact, another signature, scores against
        another champion. Something is wrong; a statistical refusal is the gate doing its job."""
        return not self.passed and not self.details


def judge(conn, config, candidate: dict, champion: dict | None) -> Verdict:
    """Refuse a tampered artifact or a changed signature; otherwise run the paired test."""
    actual = hashlib.sha256(candidate["artifact"]).hexdigest()
    if actual != candidate["sha256"]:
        reason = f"artifact hash {actual[:12]} != registered {candidate['sha256'][:12]}"
        return Verdict(False, reason, {})
    if champion is None:
        return Verdict(True, "no champion yet: the first model is promoted", {})
    incompatible = check_compatibility(
        [tuple(f) for f in candidate["features"]], [tuple(f) for f in champion["features"]]
    )
    if incompatible:
        return Verdict(False, f"feature signature differs from the champion's: {incompatible}", {})
    holdout = registry.holdout_predictions(conn, candidate["version"])
    if holdout.empty or (holdout["champion_version"] != champion["version"]).any():
        reason = f"not evaluated against the current champion v{champion['version']}"
        return Verdict(False, reason, {})
    policy = config.policy
    settings = GateSettings(
        metric=policy.gate_metric, min_effect=policy.min_improvement, alpha=policy.gate_alpha
    )
    if config.binary:
        result = evaluate_gate(
            holdout["truth"].to_numpy(),
            holdout["candidate_proba"].to_numpy(),
            holdout["champion_proba"].to_numpy(),
            settings,
        )
    else:
        # truth is the class's index, the probabilities are lists in the config's class order
        result = evaluate_gate(
            holdout["truth"].to_numpy(),
            stored_matrix(holdout["candidate_probabilities"], len(config.classes)),
            stored_matrix(holdout["champion_probabilities"], len(config.classes)),
            settings,
            classes=list(range(len(config.classes))),
        )
    if not result.passed and policy.gate_pooled_refusals:
        earlier = registry.refused_comparisons(
            conn,
            champion["version"],
            candidate["version"],
            settings.metric,
            policy.gate_pooled_refusals,
        )
        result = pool_refusals(result, [GateResult(**details) for details in earlier], settings)
    return Verdict(result.passed, result.reason, asdict(result))
