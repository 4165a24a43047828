"""Candidate training, champion-versus-challenger evaluation and the promotion decision."""

import hashlib
import json
from datetime import timedelta
from importlib.metadata import version as package_version

import dagster as dg
import mlflow.sklearn
import pandas as pd
from dagster_duckdb import DuckDBResource
from dagster_mlflow.resources import MlFlow
from mlflow.models import infer_signature

from continual_ml import warehouse
from continual_ml.alerts import Alert
from continual_ml.config import DatasetConfig, default_config
from continual_ml.defs.data.assets import WAREHOUSE_POOL, observations, partition_day
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.resources import AlertsResource, ArtifactDirsResource, DatasetResource
from continual_ml.evaluation import decide_promotion, score_model
from continual_ml.model_store import export_champion
from continual_ml.training import (
    fit_candidate,
    load_model,
    own_types,
    serialize_model,
    split_window,
)

METRICS = ("accuracy", "f1", "roc_auc", "log_loss")


def training_window(config: DatasetConfig, context: dg.AssetExecutionContext):
    end = partition_day(context)
    return end - timedelta(days=config.model.training_window_days - 1), end


def window_split(conn, config: DatasetConfig, context: dg.AssetExecutionContext):
    start, end = training_window(config, context)
    rows = warehouse.read_rows(conn, "observations", start, end)
    if rows.empty:
        raise ValueError(f"no observations in the training window {start} .. {end}")
    return start, end, split_window(rows, config.model.holdout_fraction)


@dg.asset(
    partitions_def=daily_partitions,
    group_name="training",
    kinds={"sklearn", "mlflow", "duckdb"},
    pool=WAREHOUSE_POOL,
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
    mlflow: dg.ResourceParam[MlFlow],
) -> dg.MaterializeResult:
    """A challenger pipeline trained on the sliding window of recent partitions."""
    config = dataset.config
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, config)
        start, end, split = window_split(conn, config, context)
        model = fit_candidate(config, split.train)
        artifact, sha256 = serialize_model(model)
        scores = score_model(model, config, split.holdout)
        params = {
            "family": config.model.family,
            "training_start": str(start),
            "training_end": str(end),
            "n_train": len(split.train),
            "holdout_fraction": config.model.holdout_fraction,
            "random_state": config.model.random_state,
        }
        run_id = log_training_run(mlflow, model, split.train, config, params, scores, artifact)
        version = warehouse.register_model(
            conn,
            partition_date=end,
            sha256=sha256,
            artifact=artifact,
            family=config.model.family,
            params=json.dumps(params),
            training_start=start,
            training_end=end,
            n_train=len(split.train),
            mlflow_run_id=run_id,
            dagster_run_id=context.run.run_id,
        )
    alerts.send(
        Alert(
            "retrain_finished",
            f"Candidate v{version} trained",
            f"Trained on {start} .. {end} ({len(split.train)} rows).",
            {"holdout accuracy": f"{scores['accuracy']:.3f}", "mlflow run": run_id},
        ),
        context.log,
    )
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "sha256": sha256,
            "training_window": f"{start} .. {end}",
            "n_train": len(split.train),
            "mlflow_run_id": run_id,
            **{f"holdout_{k}": float(scores[k]) for k in METRICS},
        }
    )


def log_training_run(
    tracking: MlFlow, model, train: pd.DataFrame, config, params, scores, artifact
):
    """Record the run in MLflow: parameters, holdout metrics and the model with its signature."""
    features = train[config.feature_names]
    try:
        tracking.log_params(params)
        tracking.log_metrics({f"holdout_{k}": float(scores[k]) for k in METRICS})
        tracking.set_tag("model_sha256", hashlib.sha256(artifact).hexdigest())
        mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(features, model.predict_proba(features.head(50))),
            input_example=features.head(5),
            serialization_format="skops",
            # Stated, not inferred: inference shells out to the package manager on every run.
            pip_requirements=[
                f"scikit-learn=={package_version('scikit-learn')}",
                f"skops=={package_version('skops')}",
            ],
            skops_trusted_types=own_types(artifact),
        )
        return tracking.active_run().info.run_id
    finally:
        # The run belongs to this step alone; close it so the next Dagster run starts fresh.
        tracking.end_run()


@dg.asset(
    partitions_def=daily_partitions,
    group_name="training",
    kinds={"sklearn", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[candidate_model],
)
def evaluation_scores(
    context: dg.AssetExecutionContext, dataset: DatasetResource, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Candidate and champion scored on the same holdout: the newest rows neither has seen."""
    config, day = dataset.config, partition_day(context)
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, config)
        _, _, split = window_split(conn, config, context)
        candidate = warehouse.latest_model_for(conn, day)
        contenders = [("candidate", candidate)]
        champion = warehouse.current_champion(conn)
        if champion is not None:
            contenders.append(("champion", champion))
        scored = []
        for role, row in contenders:
            scores = score_model(load_model(row["artifact"], row["sha256"]), config, split.holdout)
            scored.append({"role": role, "model_version": row["version"], **scores})
        table = pd.DataFrame(scored).assign(
            partition_date=day, candidate_version=candidate["version"]
        )
        conn.execute(
            "DELETE FROM evaluation_scores WHERE candidate_version = ?", [candidate["version"]]
        )
        conn.register("scored", table)
        conn.execute("INSERT INTO evaluation_scores BY NAME SELECT * FROM scored")
    metadata = {f"{entry['role']}_{k}": float(entry[k]) for entry in scored for k in METRICS}
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "candidate_version": candidate["version"],
            "champion_version": champion["version"] if champion else "none",
            "n_holdout": int(scored[0]["n_holdout"]),
            "scores": dg.MetadataValue.md(
                table[["role", "model_version", *METRICS]].to_markdown(index=False)
            ),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="training",
    kinds={"bentoml", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[evaluation_scores],
)
def champion_model(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """The model in charge after this partition's promotion decision, exported for serving."""
    config, day = dataset.config, partition_day(context)
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, config)
        candidate = warehouse.latest_model_for(conn, day)
        champion = warehouse.current_champion(conn)
        scores = warehouse.evaluation_for(conn, candidate["version"])
        decision = decide_promotion(
            scores["candidate"],
            scores.get("champion"),
            config.policy,
            evaluated_champion=scores.get("champion", {}).get("model_version"),
            current_champion=champion["version"] if champion else None,
        )
        if decision.promote:
            # Export first: if the store write fails, the run fails and DuckDB still names
            # the old champion, so the service and the registry never disagree.
            tag = export_champion(
                artifact_dirs.bentoml_home,
                config,
                candidate["version"],
                candidate["artifact"],
                candidate["sha256"],
            )
            context.log.info(f"exported v{candidate['version']} to the BentoML store as {tag}")
        new_champion = (
            candidate["version"]
            if decision.promote
            else (champion["version"] if champion else None)
        )
        warehouse.record_promotion(
            conn,
            partition_date=day,
            candidate_version=candidate["version"],
            previous_champion=champion["version"] if champion else None,
            decision="promoted" if decision.promote else "rejected",
            reason=decision.reason,
            champion_version=new_champion,
        )
    event = "model_promoted" if decision.promote else "model_rejected"
    title = f"Candidate v{candidate['version']} {'promoted' if decision.promote else 'rejected'}"
    alerts.send(
        Alert(
            event, title, decision.reason, {"champion": f"v{new_champion}", "partition": str(day)}
        ),
        context.log,
    )
    return dg.MaterializeResult(
        metadata={
            "champion_version": new_champion if new_champion is not None else "none",
            "candidate_version": candidate["version"],
            "decision": "promoted" if decision.promote else "rejected",
            "reason": decision.reason,
        }
    )
