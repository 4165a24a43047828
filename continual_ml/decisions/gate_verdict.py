"""The gate's whole verdict on a candidate: integrity first, then the sequential paired test.

A new candidate's holdout is the first day of its evidence against the champion (the
fixed-sample McNemar and bootstrap figures on it are reported beside, not decided on); an open
challenger is judged again on each day it was scored in shadow (`challenger`).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import NamedTuple

import pandas as pd

from continual_ml.decisions import challenger
from continual_ml.decisions.challenger import open_challenger
from continual_ml.decisions.gate import (
    GateSettings,
    check_compatibility,
    evaluate_gate,
    paired_rows,
)
from continual_ml.decisions.regression_verdict import judge_regression
from continual_ml.decisions.sequential_gate import bounded_scores
from continual_ml.training.class_probabilities import stored_matrix
from continual_ml.warehouse import registry
from continual_ml.warehouse.shadow_scores import record_scores


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


def judge(
    conn,
    config,
    candidate: dict,
    champion: dict | None,
    shift_onset: str | None = None,
    growth: bool = False,
) -> Verdict:
    """Refuse a tampered artifact or a changed signature; otherwise run the paired test, with
    the burden flipped for a candidate of a shift episode begun on `shift_onset`
    (`shift_episode`), and eased for a `growth` retrain's (`challenger.decide`)."""
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
    if config.regression:  # paired on per-row errors, decided on the day (`regression_verdict`)
        return Verdict(*judge_regression(conn, config, candidate, champion, shift_onset, growth))
    if (current := open_challenger(conn)) and current["version"] == candidate["version"]:
        decision = challenger.decide(conn, config, candidate, champion, shift_onset, growth)
        return _decided(decision, {})
    holdout = registry.holdout_predictions(conn, candidate["version"])
    if holdout.empty or (holdout["champion_version"] != champion["version"]).any():
        reason = f"not evaluated against the current champion v{champion['version']}"
        return Verdict(False, reason, {})
    policy = config.policy
    settings = GateSettings(
        metric=policy.gate_metric, min_effect=policy.min_improvement, alpha=policy.gate_alpha
    )
    classes = None if config.binary else list(range(len(config.classes)))
    truth = holdout["truth"].to_numpy()
    if config.binary:
        probas = (holdout["candidate_proba"].to_numpy(), holdout["champion_proba"].to_numpy())
    else:
        # truth is the class's index, the probabilities are lists in the config's class order
        probas = tuple(
            stored_matrix(holdout[column], len(config.classes))
            for column in ("candidate_probabilities", "champion_probabilities")
        )
    result = evaluate_gate(truth, *probas, settings, classes=classes)
    # The holdout is the first day of the candidate's evidence against the champion, dated as
    # its rows are: with labels late it is older than the candidate's own day, and the evidence
    # stays in the order it arrived (shadow days after it), as the anytime test assumes.
    scores, correct = paired_rows(truth, *probas, settings, classes)
    dated = dict(
        conn.execute(
            "SELECT o.row_id, o.partition_date FROM observations AS o "
            "JOIN holdout_predictions AS h ON h.row_id = o.row_id WHERE h.candidate_version = ?",
            [candidate["version"]],
        ).fetchall()
    )
    days = [dated.get(row_id, candidate["partition_date"]) for row_id in holdout["row_id"]]
    for model, score, right in zip((candidate, champion), scores, correct, strict=True):
        frame = pd.DataFrame(
            {
                "row_id": holdout["row_id"].to_numpy(),
                "partition_date": days,
                "score": bounded_scores(score, settings.metric),
                "correct": right,
            }
        )
        record_scores(conn, model["version"], settings.metric, frame)
    fixed = f"on its holdout alone (not the decision): {result.reason}"
    if candidate["sha256"] == champion["sha256"]:  # nothing to wait for: it is the same model
        same = challenger.ChallengerDecision("refuse", "the same model as the champion", {})
        return _decided(same, asdict(result), fixed)
    decision = challenger.decide(conn, config, candidate, champion, shift_onset, growth)
    return _decided(decision, asdict(result), fixed)


def _decided(decision: challenger.ChallengerDecision, fixed: dict, note: str = "") -> Verdict:
    """The sequential decision as a verdict; `details` says what becomes of the candidate."""
    details = {
        **fixed,
        **decision.details,
        "outcome": decision.outcome,
        "replaces": decision.replaces,
    }
    reason = f"{decision.reason}; {note}" if note else decision.reason
    return Verdict(decision.outcome == "promote", reason, details)
