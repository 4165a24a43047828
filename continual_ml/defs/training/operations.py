"""Jobs a person runs on the registry: roll back the champion, approve or reject a candidate."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml.alerts.delivery import Alert
from continual_ml.decisions import promotion
from continual_ml.defs.partitions import promotion_pool
from continual_ml.defs.resources import AlertsResource, ArtifactDirsResource, DatasetResource
from continual_ml.defs.training.assets import champion_model
from continual_ml.defs.training.conflicts import retried_when_the_registry_is_busy
from continual_ml.defs.training.decision_events import champion_metadata
from continual_ml.warehouse import registry
from continual_ml.warehouse.schema import apply_schema
from continual_ml.warehouse.training_params import training_record


def champion_changed(conn, version: int, decision: str, reason: str) -> dg.AssetMaterialization:
    """A `champion_model` event for a change made outside a retrain, as a retrain records one.

    The retraining policy judges realized accuracy against the newest champion's promoted score,
    and the lineage shows who is in charge: both read these events. It is recorded on the
    partition the model was trained for, so that partition's latest event says who took over.
    """
    model = registry.load_model_row(conn, version)
    return dg.AssetMaterialization(
        champion_model.key,
        partition=str(model["partition_date"]),
        metadata=champion_metadata(
            version,
            model,
            decision,
            reason,
            champion_training=training_record(conn, version),
        ),
    )


class RollbackConfig(dg.Config):
    version: int | None = None  # None: the champion before the current one
    actor: str = "dagster-ui"


class DecisionConfig(dg.Config):
    version: int
    approve: bool
    actor: str = "dagster-ui"


@dg.op(pool=promotion_pool())
def restore_previous_champion(
    context: dg.OpExecutionContext,
    config: RollbackConfig,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
    alerts: AlertsResource,
) -> int:
    """Make the previous (or the named) champion the champion again, everywhere."""
    settings = dataset.config
    with duckdb.get_connection() as conn:
        apply_schema(conn, settings)
        with retried_when_the_registry_is_busy():
            outcome = promotion.rollback(
                conn,
                artifact_dirs.model_stores(settings),
                config.version,
                actor=f"person:{config.actor}",
            )
        version = outcome["champion_version"]
        reason = f"{config.actor} rolled back to v{version}"
        context.log_event(champion_changed(conn, version, "rolled_back", reason))
    alerts.send(
        Alert(
            "model_rolled_back",
            f"Rolled back to v{version}",
            f"{config.actor} restored v{version} as the champion.",
        ),
        context.log,
    )
    return version


@dg.op(pool=promotion_pool())
def decide_pending_candidate(
    context: dg.OpExecutionContext,
    config: DecisionConfig,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    artifact_dirs: ArtifactDirsResource,
    alerts: AlertsResource,
) -> str:
    """Promote or reject a candidate that passed the gate and waits for a person."""
    settings = dataset.config
    actor = f"person:{config.actor}"
    with duckdb.get_connection() as conn:
        apply_schema(conn, settings)
        if config.approve:
            with retried_when_the_registry_is_busy():
                stores = artifact_dirs.model_stores(settings)
                promotion.approve(conn, stores, config.version, actor)
            reason = f"{config.actor} approved v{config.version}"
            context.log_event(champion_changed(conn, config.version, "approved", reason))
        else:
            promotion.reject(conn, config.version, actor)
    decision = "approved and promoted" if config.approve else "rejected"
    alerts.send(
        Alert(
            "model_promoted" if config.approve else "model_rejected",
            f"Candidate v{config.version} {decision}",
            f"by {config.actor}",
        ),
        context.log,
    )
    return decision


@dg.job(description="Restore the previous champion (or a given version) everywhere.")
def rollback_job():
    restore_previous_champion()


@dg.job(description="Approve or reject a candidate waiting as pending_approval.")
def approval_job():
    decide_pending_candidate()
