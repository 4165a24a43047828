"""Changing the champion in all three places at once: DuckDB, the MLflow registry, BentoML.

The order makes a half-done promotion invisible: export the model to the BentoML store (not yet
served), move MLflow's `champion` alias, then in one DuckDB transaction update the registry and
flip the service's champion pointer before committing. Any failure, a lost write-write conflict
included, points the alias and the pointer back at the champion the warehouse holds (the one
before, or the one of the change that won), so the three stores agree whether a change commits
or raises.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from continual_ml.config import DatasetConfig
from continual_ml.decisions.gate_outcome import close_challengers
from continual_ml.decisions.served_interval import holdout_calibration
from continual_ml.models.mlflow_state import mirror_registry, run_name
from continual_ml.models.store import (
    delete_export,
    export_or_reuse,
    point_at,
    read_pointer,
    write_pointer,
)
from continual_ml.warehouse import registry
from continual_ml.warehouse.champion import change_champion
from continual_ml.warehouse.sql import (
    is_conflict,
    retried_on_conflict,
    rollback_quietly,
    transaction,
)

REGISTERED_MODEL = "continual-ml"
CHAMPION_ALIAS = "champion"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelStores:
    bentoml_home: Path
    tracking_uri: str
    config: DatasetConfig


def _mlflow(stores: ModelStores):
    from mlflow.tracking import MlflowClient

    return MlflowClient(stores.tracking_uri)


def champion_alias(stores: ModelStores) -> int | None:
    """The MLflow registry version the `champion` alias points at, if any."""
    from mlflow.exceptions import MlflowException

    try:
        found = _mlflow(stores).get_model_version_by_alias(REGISTERED_MODEL, CHAMPION_ALIAS)
    except MlflowException as error:
        if "not found" in str(error).lower() or "RESOURCE_DOES_NOT_EXIST" in str(error):
            return None
        raise
    return int(found.version)


def _set_alias(stores: ModelStores, mlflow_version: int | None) -> None:
    client = _mlflow(stores)
    if mlflow_version is None:
        client.delete_registered_model_alias(REGISTERED_MODEL, CHAMPION_ALIAS)
    else:
        client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION_ALIAS, str(mlflow_version))


def mark_in_mlflow(stores: ModelStores, model: dict, decision: str, reason: str) -> None:
    """Tag the model's training run and registered version with the decision (the run's name
    stays the one it was given at training: version, family, partition).

    DuckDB's registry is the record; MLflow mirrors it for people browsing runs. A failure here
    is logged and changes no decision.
    """
    from mlflow.exceptions import MlflowException

    client = _mlflow(stores)
    try:
        if model.get("mlflow_run_id"):
            client.update_run(model["mlflow_run_id"], name=run_name(model))
            client.set_tag(model["mlflow_run_id"], "decision", decision)
        if model.get("mlflow_model_version") is not None:
            version = str(model["mlflow_model_version"])
            client.set_model_version_tag(REGISTERED_MODEL, version, "decision", decision)
            client.set_model_version_tag(REGISTERED_MODEL, version, "reason", reason[:4000])
    except (MlflowException, OSError) as error:
        log.warning("could not mark v%s %s in MLflow: %s", model["version"], decision, error)


def verified(model: dict) -> dict:
    actual = hashlib.sha256(model["artifact"]).hexdigest()
    if actual != model["sha256"]:
        raise ValueError(
            f"v{model['version']}: artifact hash {actual[:12]} != registered {model['sha256'][:12]}"
        )
    return model


@retried_on_conflict
def promote(
    conn: duckdb.DuckDBPyConnection,
    stores: ModelStores,
    version: int,
    *,
    action: str,
    reason: str,
    actor: str,
    partition_date: date | None = None,
) -> dict:
    """Make `version` the champion everywhere, or change nothing and raise.

    A concurrent change of the registry makes this one conflict; the pointer and alias then
    follow the warehouse's champion again (the winner's, not what was read before, which would
    undo the change that won), and the change is tried again from the start
    (`retried_on_conflict`). Past the last attempt the conflict is raised with the three stores
    agreeing on the champion the warehouse kept.
    """
    model = verified(registry.load_model_row(conn, version))
    previous = registry.current_champion(conn)
    if previous and previous["version"] == version:
        return {"champion_version": version, "changed": False}
    old_alias = champion_alias(stores) if model["mlflow_model_version"] is not None else None
    old_pointer = read_pointer(stores.bentoml_home)
    details = {
        "training_start": str(model["training_start"]),
        "training_end": str(model["training_end"]),
        "metrics": model["metrics"],
        "promoted_by": actor,
    }
    if stores.config.regression:  # the service answers intervals from it
        details["conformal"] = holdout_calibration(conn, version)
    tag, exported = export_or_reuse(
        stores.bentoml_home, stores.config, version, model["artifact"], model["sha256"], details
    )
    alias_moved = False
    try:
        if model["mlflow_model_version"] is not None:
            _set_alias(stores, model["mlflow_model_version"])
            alias_moved = True
        with transaction(conn):
            change_champion(
                conn,
                version,
                action,
                reason,
                actor,
                expected=previous["version"] if previous else None,
                partition_date=partition_date,
            )
            point_at(stores.bentoml_home, tag, version, model["sha256"], promoted_by=actor)
    except BaseException as error:
        _undo(
            lambda: follow_the_warehouse(conn, stores, old_pointer, old_alias, alias_moved),
            "point the BentoML champion pointer and MLflow alias at the warehouse's champion",
        )
        if exported and not is_conflict(error):  # a retry reuses it
            _undo(lambda: delete_export(stores.bentoml_home, tag), f"delete the export {tag}")
        raise
    mark_in_mlflow(stores, model, action, reason)
    for closed in close_challengers(conn, version, actor):
        mark_in_mlflow(stores, registry.load_model_row(conn, closed), "superseded", reason)
    if previous:
        mark_in_mlflow(stores, previous, "retired", f"replaced by v{version}")
    mirror_registry(conn, stores.tracking_uri, REGISTERED_MODEL)  # every version's standing
    return {"champion_version": version, "changed": True, "tag": tag}


def follow_the_warehouse(
    conn: duckdb.DuckDBPyConnection,
    stores: ModelStores,
    old_pointer: dict | None,
    old_alias: int | None,
    alias_moved: bool,
) -> None:
    """After a failed change, point the BentoML pointer and the MLflow alias at the champion the
    warehouse holds now: the one they named before (`old_pointer`, `old_alias`), or the one a
    concurrent change committed meanwhile."""
    rollback_quietly(conn)
    champion = registry.current_champion(conn)
    if champion is None or (old_pointer or {}).get("version") == champion["version"]:
        write_pointer(stores.bentoml_home, old_pointer)
    else:
        tag, _ = export_or_reuse(
            stores.bentoml_home,
            stores.config,
            champion["version"],
            champion["artifact"],
            champion["sha256"],
        )
        point_at(stores.bentoml_home, tag, champion["version"], champion["sha256"])
    wanted = champion["mlflow_model_version"] if champion else None
    if wanted is None:  # no MLflow version to name: the alias as it was
        if alias_moved:
            _set_alias(stores, old_alias)
    elif champion_alias(stores) != wanted:
        _set_alias(stores, wanted)


def _undo(step, what: str) -> None:
    try:
        step()
    except Exception as error:  # the original failure is what the caller must see
        log.error("could not %s: %s", what, error)


def rollback(
    conn: duckdb.DuckDBPyConnection, stores: ModelStores, version: int | None, actor: str
) -> dict:
    """Restore `version`, or the champion before the current one, everywhere."""
    current = registry.current_champion(conn)
    target = version if version is not None else registry.previous_champion(conn)
    if target is None:
        raise ValueError("there is no previous champion to roll back to")
    if registry.load_model_row(conn, target)["status"] == "rejected":
        raise ValueError(f"v{target} was rejected; roll back to a former champion instead")
    reason = f"rolled back from v{current['version'] if current else None} to v{target}"
    return promote(conn, stores, target, action="rolled_back", reason=reason, actor=actor)


def approve(conn: duckdb.DuckDBPyConnection, stores: ModelStores, version: int, actor: str) -> dict:
    status = registry.load_model_row(conn, version)["status"]
    if status != "pending_approval":
        raise ValueError(f"v{version} is {status}, not pending_approval")
    return promote(
        conn, stores, version, action="approved", reason=f"approved by {actor}", actor=actor
    )


def reject(conn: duckdb.DuckDBPyConnection, version: int, actor: str) -> None:
    status = registry.load_model_row(conn, version)["status"]
    if status != "pending_approval":
        raise ValueError(f"v{version} is {status}, not pending_approval")
    registry.record_decision(conn, version, "rejected", "rejected", f"rejected by {actor}", actor)
