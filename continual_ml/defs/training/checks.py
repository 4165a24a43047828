"""The promotion gate: a blocking check that the candidate really beats the champion."""

import hashlib
from dataclasses import asdict

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml import registry, warehouse
from continual_ml.alerts import Alert
from continual_ml.defs.data.assets import WAREHOUSE_POOL, partition_day
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.defs.training.assets import evaluation_scores
from continual_ml.gate_pooling import pool_refusals
from continual_ml.promotion_gate import GateResult, GateSettings, check_compatibility, evaluate_gate

GATE_CHECK = "candidate_beats_champion"


def judge(conn, config, candidate: dict, champion: dict | None) -> tuple[bool, str, dict]:
    """Refuse a tampered artifact or a changed signature; otherwise run the paired test."""
    actual = hashlib.sha256(candidate["artifact"]).hexdigest()
    if actual != candidate["sha256"]:
        return False, f"artifact hash {actual[:12]} != registered {candidate['sha256'][:12]}", {}
    if champion is None:
        return True, "no champion yet: the first model is promoted", {}
    incompatible = check_compatibility(
        [tuple(f) for f in candidate["features"]], [tuple(f) for f in champion["features"]]
    )
    if incompatible:
        return False, f"feature signature differs from the champion's: {incompatible}", {}
    holdout = registry.holdout_predictions(conn, candidate["version"])
    if holdout.empty or (holdout["champion_version"] != champion["version"]).any():
        return False, f"not evaluated against the current champion v{champion['version']}", {}
    policy = config.policy
    settings = GateSettings(
        metric=policy.gate_metric, min_effect=policy.min_improvement, alpha=policy.gate_alpha
    )
    result = evaluate_gate(
        holdout["truth"].to_numpy(),
        holdout["candidate_proba"].to_numpy(),
        holdout["champion_proba"].to_numpy(),
        settings,
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
    return result.passed, result.reason, asdict(result)


@dg.asset_check(asset=evaluation_scores, name=GATE_CHECK, blocking=True, pool=WAREHOUSE_POOL)
def candidate_beats_champion(
    context: dg.AssetCheckExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
) -> dg.AssetCheckResult:
    """The candidate beats the champion on the same rows by a paired test and the minimum effect."""
    config = dataset.config
    day = partition_day(context)
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, config)
        candidate = registry.latest_model_for(conn, day)
        champion = registry.current_champion(conn)
        passed, reason, details = judge(conn, config, candidate, champion)
        registry.record_gate(
            conn,
            candidate["version"],
            champion["version"] if champion else None,
            passed,
            reason,
            details,
        )
        if not passed:
            actor = f"dagster:{GATE_CHECK}"
            registry.record_decision(
                conn,
                candidate["version"],
                "rejected",
                "rejected",
                reason,
                actor,
                partition_date=day,
            )
    if not passed:
        alerts.send(
            Alert(
                "model_rejected",
                f"Candidate v{candidate['version']} rejected",
                reason,
                {"champion": f"v{champion['version']}" if champion else "none"},
            ),
            context.log,
        )
    numeric = {k: v for k, v in details.items() if isinstance(v, int | float)}
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "decision": "promote" if passed else "reject",
            "reason": reason,
            "candidate_version": candidate["version"],
            "champion_version": champion["version"] if champion else "none",
            **numeric,
        },
    )
