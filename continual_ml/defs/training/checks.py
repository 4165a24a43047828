"""The promotion gate: a blocking check that the candidate really beats the champion."""

import math

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml.alerts.delivery import Alert
from continual_ml.decisions import challenger as challengers
from continual_ml.decisions.data_growth import ModelTraining, eased_for_growth
from continual_ml.decisions.retrain_policy import CAUSES_TAG
from continual_ml.decisions.shift_episode import ONSET_TAG
from continual_ml.defs.data.assets import partition_day
from continual_ml.defs.partitions import promotion_pool
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.defs.training.assets import evaluation_scores
from continual_ml.warehouse import registry
from continual_ml.warehouse.schema import apply_schema
from continual_ml.warehouse.training_params import training_record

GATE_CHECK = "candidate_beats_champion"


@dg.asset_check(asset=evaluation_scores, name=GATE_CHECK, blocking=True, pool=promotion_pool())
def candidate_beats_champion(
    context: dg.AssetCheckExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
) -> dg.AssetCheckResult:
    """The candidate beats the champion on the same rows by a paired test and the minimum effect.

    A refusal on the evidence is a warning, not an error: the run goes on and `champion_model`
    records the decision. Only a broken candidate (tampered, another signature) blocks the run.
    """
    # Imported in the check: its statistics (scipy.stats) take a second to import, which every
    # run process, monitoring's included, would otherwise pay.
    from continual_ml.decisions.gate_verdict import judge

    config = dataset.config
    day = partition_day(context)
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        judged = challengers.judged_on(conn, day)
        champion = registry.current_champion(conn)
        if judged is None:
            return dg.AssetCheckResult(passed=True, metadata={"decision": "nothing to judge"})
        candidate = judged[0]
        fresh = judged[1] == "holdout"  # judged on its holdout, in the run that trained it
        onset = context.run.tags.get(ONSET_TAG) if fresh else None
        growth = champion is not None and eased_for_growth(
            trained_by(context, candidate).get(CAUSES_TAG, ""),
            ModelTraining.of(training_record(conn, candidate["version"])),
            ModelTraining.of(training_record(conn, champion["version"])),
        )
        verdict = judge(conn, config, candidate, champion, onset, growth)
        registry.record_gate(
            conn,
            candidate["version"],
            champion["version"] if champion else None,
            verdict.passed,
            verdict.reason,
            verdict.details,
        )
        if verdict.broken:
            registry.record_decision(
                conn,
                candidate["version"],
                "rejected",
                "rejected",
                verdict.reason,
                f"dagster:{GATE_CHECK}",
                partition_date=day,
            )
    if verdict.broken:
        alerts.send(
            Alert(
                "candidate_broken",
                f"Candidate v{candidate['version']} rejected: it is broken",
                verdict.reason,
                {"champion": f"v{champion['version']}" if champion else "none"},
            ),
            context.log,
        )
    numeric = {  # JSON has no NaN: an undefined statistic is left out
        k: float(v)
        for k, v in verdict.details.items()
        if isinstance(v, int | float) and math.isfinite(v)
    }
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR if verdict.broken else dg.AssetCheckSeverity.WARN,
        metadata={
            # promote, keep (stays or becomes the challenger, scored in shadow) or reject
            "decision": "promote"
            if verdict.passed
            else ("keep" if verdict.details.get("outcome") == "keep" else "reject"),
            "judged_on": judged[1],
            "reason": verdict.reason,
            "candidate_version": candidate["version"],
            "champion_version": champion["version"] if champion else "none",
            **numeric,
        },
    )


def trained_by(context: dg.AssetCheckExecutionContext, model: dict) -> dict[str, str]:
    """The tags of the run that trained `model` (none if that run is gone from the instance):
    a challenger in shadow is judged in a later run, still as the retrain that asked for it."""
    if model["dagster_run_id"] == context.run.run_id:
        return dict(context.run.tags)
    run = model["dagster_run_id"] and context.instance.get_run_by_id(model["dagster_run_id"])
    if not run:
        context.log.warning(
            f"v{model['version']}: the run that trained it is not in this Dagster instance; "
            "its causes are unknown, so it is judged as any challenger"
        )
    return dict(run.tags) if run else {}
