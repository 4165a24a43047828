"""Candidate training, champion-versus-challenger evaluation and the promotion decision."""

import json
import math
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml.alerts.delivery import Alert
from continual_ml.config import DatasetConfig, default_config
from continual_ml.decisions.promotion import REGISTERED_MODEL, mark_in_mlflow, promote
from continual_ml.defs.data.assets import observations, partition_day
from continual_ml.defs.metadata import run_links, run_url
from continual_ml.defs.partitions import daily_partitions, promotion_pool
from continual_ml.defs.resources import AlertsResource, ArtifactDirsResource, DatasetResource
from continual_ml.defs.training.conflicts import retried_when_the_registry_is_busy
from continual_ml.models.metric_values import safe_report
from continual_ml.training import window
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml.training.tracking import (
    closed_on_failure,
    feature_signature,
    log_evaluation,
    log_training_run,
)
from continual_ml.warehouse import registry
from continual_ml.warehouse.schema import apply_schema


def window_split(conn, config: DatasetConfig, context: dg.AssetExecutionContext):
    try:
        return window.window_split(conn, config, partition_day(context))
    except window.NoLabelledRows as error:
        raise dg.Failure(str(error)) from error


@dg.asset(
    partitions_def=daily_partitions,
    group_name="training",
    kinds={"sklearn", "mlflow", "duckdb"},
    pool=promotion_pool(),
    deps=[
        dg.AssetDep(
            observations,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=1 - default_config().model.training_window_days
            ),
        )
    ],
)
def candidate_model(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
    artifact_dirs: ArtifactDirsResource,
    # dagster_mlflow's `MlFlow`, not imported here: see `resources.MlflowResource`
    mlflow: dg.ResourceParam[Any],
) -> dg.MaterializeResult:
    """A challenger pipeline trained on the sliding window of recent labelled partitions."""
    config = dataset.config
    with closed_on_failure(mlflow), duckdb.get_connection() as conn:
        apply_schema(conn, config)
        start, end, split = window_split(conn, config, context)
        model = fit_candidate(config, split.train)
        artifact, sha256 = serialize_model(model)
        params = window.training_params(config, model, split.train, start, end)
        tracked = log_training_run(
            mlflow,
            model,
            split,
            config,
            params,
            artifact,
            REGISTERED_MODEL,
            run_url(context.run.run_id),
        )
        version = registry.register_model(
            conn,
            partition_date=end,
            sha256=sha256,
            artifact=artifact,
            family=config.model.family,
            params=json.dumps(params),
            features=json.dumps(feature_signature(config)),
            training_start=start,
            training_end=end,
            n_train=len(split.train),
            data_sha256=params["data_sha256"],
            mlflow_run_id=tracked.run_id,
            mlflow_model_version=tracked.registered_version,
            dagster_run_id=context.run.run_id,
        )
        registered = registry.load_model_row(conn, version)
    mark_in_mlflow(
        artifact_dirs.model_stores(config), registered, "candidate", "waits for the gate"
    )
    alerts.send(
        Alert(
            "retrain_finished",
            f"Candidate v{version} trained",
            f"Trained on {start} .. {end} ({len(split.train)} rows).",
            {"mlflow run": tracked.run_id, "dagster run": context.run.run_id},
        ),
        context.log,
    )
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "sha256": sha256,
            "training_window": f"{start} .. {end}",
            "n_train": len(split.train),
            "data_sha256": params["data_sha256"],
            "mlflow_run_id": tracked.run_id,
            "mlflow_registered_version": tracked.registered_version,
            **run_links(tracked.run_id, tracked.experiment_id),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="training",
    kinds={"sklearn", "duckdb"},
    pool=promotion_pool(),
    deps=[candidate_model],
)
def evaluation_scores(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
) -> dg.MaterializeResult:
    """Candidate and champion scored on the same holdout: the newest rows neither has seen."""
    config, day = dataset.config, partition_day(context)
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        _, _, split = window_split(conn, config, context)
        candidate = registry.latest_model_for(conn, day)
        champion = registry.current_champion(conn)
        # Imported in the step: matplotlib is slow to import, and every run loads this module.
        from continual_ml.training.evaluation import evaluate_on_holdout

        evaluation = evaluate_on_holdout(config, split.holdout, candidate, champion)
        registry.replace_evaluation(
            conn,
            candidate["version"],
            evaluation.scores.assign(partition_date=day),
            evaluation.holdout,
            safe_report(evaluation.candidate_report),
            evaluation.class_scores,
        )
    plots = evaluation.save_plots(artifact_dirs.report_path(f"evaluation/v{candidate['version']}"))
    log_evaluation(
        artifact_dirs.mlflow_tracking_uri,
        candidate["mlflow_run_id"],
        evaluation.candidate_report,
        plots,
    )
    from continual_ml.defs.training.evaluation_metadata import evaluation_metadata

    return dg.MaterializeResult(
        metadata=evaluation_metadata(evaluation, candidate, champion, plots)
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="training",
    kinds={"bentoml", "mlflow", "duckdb"},
    pool=promotion_pool(),
    deps=[evaluation_scores],
)
def champion_model(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """The gate's decision on the candidate: promoted, waiting for approval, or refused."""
    config, day = dataset.config, partition_day(context)
    actor = f"dagster:{context.run.tags.get('dagster/sensor_name', context.run.job_name)}"
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        candidate = registry.latest_model_for(conn, day)
        gate = registry.gate_result(conn, candidate["version"])
        if gate is None:
            # Belt and braces: the blocking check runs, and records its verdict, before this step.
            raise dg.Failure(f"v{candidate['version']} has no candidate_beats_champion verdict")
        reason = gate["reason"]
        if not gate["passed"]:
            registry.record_decision(
                conn,
                candidate["version"],
                "rejected",
                "rejected",
                reason,
                actor,
                partition_date=day,
            )
            champion = registry.current_champion(conn)
            outcome, champion_version = "rejected", champion["version"] if champion else None
        elif config.policy.require_approval:
            registry.record_decision(
                conn,
                candidate["version"],
                "pending_approval",
                "pending_approval",
                reason,
                actor,
                partition_date=day,
            )
            outcome, champion = "pending_approval", registry.current_champion(conn)
            champion_version = champion["version"] if champion else None
        else:
            with retried_when_the_registry_is_busy():
                promote(
                    conn,
                    artifact_dirs.model_stores(config),
                    candidate["version"],
                    action="promoted",
                    reason=reason,
                    actor=actor,
                    partition_date=day,
                )
            outcome, champion_version = "promoted", candidate["version"]
    if outcome != "promoted":  # `promote` names the run in MLflow itself
        mark_in_mlflow(artifact_dirs.model_stores(config), candidate, outcome, reason)
    kind, title, action = DECISION_ALERTS[outcome]
    alerts.send(
        Alert(
            kind,
            f"Candidate v{candidate['version']} {title}",
            reason,
            {"champion": f"v{champion_version}", "partition": str(day)},
            action=action.format(version=candidate["version"], champion=champion_version),
            links={"Dagster run": run_url(context.run.run_id)},
        ),
        context.log,
    )
    return dg.MaterializeResult(
        metadata=champion_metadata(champion_version, candidate, outcome, reason)
    )


# What each decision tells people: alert kind, title, and what happened or who acts next.
DECISION_ALERTS = {
    "promoted": ("model_promoted", "promoted", "promoted v{version}"),
    "pending_approval": (
        "approval_needed",
        "waits for approval",
        "waits for a person: continual-ml approve {version}",
    ),
    "rejected": ("model_rejected", "refused by the gate", "v{champion} stays champion"),
}


def champion_metadata(champion_version: int | None, candidate: dict, decision: str, reason: str):
    """What a `champion_model` event says; the retraining sensor reads `decision` and
    `promoted_accuracy` (the score of `candidate`, a registry row)."""
    # null when the holdout had no rows (NaN in a registry row written before metrics were safe)
    accuracy = candidate["metrics"].get("accuracy")
    accuracy = accuracy if accuracy is not None and math.isfinite(accuracy) else None
    return {
        "champion_version": champion_version if champion_version is not None else "none",
        "candidate_version": candidate["version"],
        "decision": decision,
        "reason": reason,
        **({"promoted_accuracy": float(accuracy)} if accuracy is not None else {}),
    }
