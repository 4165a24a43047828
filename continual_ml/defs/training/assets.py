"""Candidate training, champion-versus-challenger evaluation and the promotion decision."""

import json
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml.alerts.delivery import Alert
from continual_ml.config import default_config
from continual_ml.decisions import challenger as challengers
from continual_ml.decisions.gate_outcome import outcome_of, record_refusal
from continual_ml.decisions.promotion import REGISTERED_MODEL, mark_in_mlflow, promote
from continual_ml.defs.data.assets import observations, partition_day
from continual_ml.defs.metadata import retrain_links, run_links, run_url
from continual_ml.defs.partitions import daily_partitions, promotion_pool
from continual_ml.defs.resources import AlertsResource, ArtifactDirsResource, DatasetResource
from continual_ml.defs.training.conflicts import retried_when_the_registry_is_busy
from continual_ml.defs.training.decision_events import DECISION_ALERTS, champion_metadata
from continual_ml.defs.training.shadow_scoring import log_shadow_day, score_in_shadow
from continual_ml.defs.training.windows import chosen_window, window_metadata
from continual_ml.models.metric_values import safe_report
from continual_ml.models.mlflow_state import mirror_registry
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
from continual_ml.warehouse.training_params import training_record

NOTHING_TO_JUDGE = "no new candidate and no open challenger to judge on this day"


def training_asset(**asset_args):
    """`dg.asset` for a step of a retrain: per day, in the training group, and in the pool of
    the steps that change the champion (`promotion_pool`)."""
    return dg.asset(
        partitions_def=daily_partitions, group_name="training", pool=promotion_pool(), **asset_args
    )


@training_asset(
    kinds={"sklearn", "mlflow", "duckdb"},
    deps=[
        dg.AssetDep(
            observations,
            partition_mapping=dg.TimeWindowPartitionMapping(
                # the shortest candidate: a longer one reaches back as far as history goes
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
        choice, split = chosen_window(conn, config, context)
        start, end = choice.start, choice.end
        model = fit_candidate(config, split.train)
        artifact, sha256 = serialize_model(model)
        params = window.training_params(config, model, split.train, choice)
        scores = {
            f"window_score_{name.replace('=', '_or_')}": score
            for name, score in choice.scores().items()
        }
        tracked = log_training_run(
            mlflow,
            model,
            split,
            config,
            params,
            artifact,
            REGISTERED_MODEL,
            run_url(context.run.run_id),
            scores,
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
            links=retrain_links(
                context.run.run_id, tracked.run_id, tracked.experiment_id, partition_day(context)
            ),
        ),
        context.log,
    )
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "sha256": sha256,
            "training_window": f"{start} .. {end}",
            **window_metadata(choice),
            "n_train": len(split.train),
            "data_sha256": params["data_sha256"],
            "mlflow_run_id": tracked.run_id,
            "mlflow_registered_version": tracked.registered_version,
            **run_links(tracked.run_id, tracked.experiment_id),
        }
    )


@training_asset(kinds={"sklearn", "duckdb"}, deps=[candidate_model])
def evaluation_scores(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
) -> dg.MaterializeResult:
    """Candidate and champion on the same holdout, or on a day without a new candidate, the open
    challenger and the champion on the day's labelled rows, in shadow: the gate's evidence."""
    config, day = dataset.config, partition_day(context)
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        judged, champion = challengers.judged_on(conn, day), registry.current_champion(conn)
        if judged is None or judged[1] == "shadow" and champion is None:
            return dg.MaterializeResult(metadata={"mode": "none", "reason": NOTHING_TO_JUDGE})
        candidate, mode = judged
        if mode == "shadow":
            metadata, _ = score_in_shadow(conn, config, day, candidate, champion)
            log_shadow_day(artifact_dirs.mlflow_tracking_uri, candidate, day, metadata)
            return dg.MaterializeResult(metadata=metadata)
        # the rows the candidate was trained on, split again: the selection ran once, in training
        split = window.window_split(conn, config, candidate["training_start"], day)
        if config.regression:  # its own tables and plots; no challenger stays open (the gate)
            from continual_ml.defs.training import regression_evaluation as regression

            evaluated = regression.evaluate_and_store(
                conn, config, day, split.holdout, candidate, champion
            )
        else:
            if (current := challengers.open_challenger(conn)) and champion is not None:
                # the open challenger on the same rows, so a newer one can show it beats it
                challengers.score_unseen(conn, config, current, split.holdout)
            # Imported in the step: matplotlib is slow to import, and every run loads this module.
            from continual_ml.training.evaluation import evaluate_on_holdout

            evaluated = evaluate_on_holdout(config, split.holdout, candidate, champion)
            registry.replace_evaluation(
                conn,
                candidate["version"],
                evaluated.scores.assign(partition_date=day),
                evaluated.holdout,
                safe_report(evaluated.candidate_report),
                evaluated.class_scores,
            )
    plots = evaluated.save_plots(artifact_dirs.report_path(f"evaluation/v{candidate['version']}"))
    log_evaluation(
        artifact_dirs.mlflow_tracking_uri,
        candidate["mlflow_run_id"],
        evaluated.candidate_report,
        plots,
    )
    if config.regression:
        metadata = regression.regression_metadata(evaluated, candidate, champion, plots)
        return dg.MaterializeResult(metadata=metadata)
    from continual_ml.defs.training.evaluation_metadata import evaluation_metadata

    return dg.MaterializeResult(
        metadata={**evaluation_metadata(evaluated, candidate, champion, plots), "mode": "holdout"}
    )


@training_asset(kinds={"bentoml", "mlflow", "duckdb"}, deps=[evaluation_scores])
def champion_model(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """The gate's decision: promoted, waiting for approval, kept as a challenger, or refused."""
    config, day = dataset.config, partition_day(context)
    actor = f"dagster:{context.run.tags.get('dagster/sensor_name', context.run.job_name)}"
    with duckdb.get_connection() as conn:
        apply_schema(conn, config)
        judged = challengers.judged_on(conn, day)
        if judged is None:
            return dg.MaterializeResult(metadata={"decision": "none", "reason": NOTHING_TO_JUDGE})
        candidate = judged[0]
        gate = registry.gate_result(conn, candidate["version"])
        if gate is None:
            # Belt and braces: the blocking check runs, and records its verdict, before this step.
            raise dg.Failure(f"v{candidate['version']} has no candidate_beats_champion verdict")
        reason, outcome = gate["reason"], outcome_of(gate, config.policy.require_approval)
        stays = judged[1] == "shadow" and outcome == "challenger"
        if outcome == "promoted":
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
        else:
            record_refusal(conn, candidate, outcome, gate, actor, day)
            stores = artifact_dirs.model_stores(config)
            mirror_registry(conn, stores.tracking_uri, REGISTERED_MODEL)
        champion = registry.current_champion(conn)
        champion_version = champion["version"] if champion else None
        training = training_record(conn, champion_version) if champion else None
        still_open = challengers.open_challenger(conn)
    if outcome != "promoted" and not stays:  # `promote` names the run in MLflow itself
        mark_in_mlflow(artifact_dirs.model_stores(config), candidate, outcome, reason)
    kind, title, action = DECISION_ALERTS[outcome]
    if not stays:  # an undecided challenger's daily look is in its metadata, not an alert
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
        metadata=champion_metadata(
            champion_version, candidate, outcome, reason, still_open, training
        )
    )
