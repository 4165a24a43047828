"""Each version's standing in the warehouse registry, mirrored onto its MLflow run and registered
model version, so a person browsing MLflow reads what is true now.

A run's name is fixed at training (version, family, partition) and never carries a decision:
a name written at one decision would read wrong after the next (a run named `rolled_back` while
it serves again). What changes lives in tags, rewritten from the registry whenever a decision
is taken: `status` (champion, retired, rejected, challenger, candidate, pending_approval),
`status_reason`, and `champion` (`true` on the one version serving). DuckDB is the record; a
failure to mirror is logged and changes no decision, and the next mirror repairs what it missed.
"""

from __future__ import annotations

import logging

import duckdb

log = logging.getLogger(__name__)
STATUS_TAG, REASON_TAG, CHAMPION_TAG = "status", "status_reason", "champion"
# MLflow caps a tag value at 8,000 characters (5,000 on a registered model version).
_MAX_TAG = 4000
_RUNS_PER_SEARCH = 100


def run_name(model: dict) -> str:
    """How a training run reads in MLflow's list: version, family, partition. Never a decision."""
    return f"v{model['version']} {model['family']} {model['partition_date']}"


def standing(model: dict) -> dict[str, str]:
    """The tags saying where `model` stands now, from its registry row."""
    return {
        STATUS_TAG: model["status"],
        REASON_TAG: (model.get("status_reason") or "")[:_MAX_TAG],
        CHAMPION_TAG: str(model["status"] == "champion").lower(),
    }


def _registry_rows(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    cursor = conn.execute(
        "SELECT version, family, partition_date, status, status_reason, mlflow_run_id, "
        "mlflow_model_version FROM model_registry "
        "WHERE mlflow_run_id IS NOT NULL OR mlflow_model_version IS NOT NULL ORDER BY version"
    )
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _runs_by_id(client, run_ids: list[str]) -> dict:
    """The runs named, in a few searches rather than one read each."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    found = {}
    for start in range(0, len(run_ids), _RUNS_PER_SEARCH):
        chunk = ", ".join(f"'{run_id}'" for run_id in run_ids[start : start + _RUNS_PER_SEARCH])
        for run in client.search_runs(
            experiments, filter_string=f"attributes.run_id IN ({chunk})", max_results=1000
        ):
            found[run.info.run_id] = run
    return found


def mirror_registry(
    conn: duckdb.DuckDBPyConnection, tracking_uri: str, registered_model: str
) -> list[int]:
    """Rewrite, for every version whose MLflow state differs from the registry, its run's name
    and standing tags and its registered model version's tags. Returns the versions changed."""
    from mlflow.entities import RunTag
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    models = _registry_rows(conn)
    changed = []
    try:
        client = MlflowClient(tracking_uri)
        runs = _runs_by_id(client, [m["mlflow_run_id"] for m in models if m["mlflow_run_id"]])
        versions = {
            int(v.version): v for v in client.search_model_versions(f"name = '{registered_model}'")
        }
        for model in models:
            wanted, touched = standing(model), False
            run = runs.get(model["mlflow_run_id"])
            if run is not None:
                stale = {k: v for k, v in wanted.items() if run.data.tags.get(k) != v}
                if stale:
                    tags = [RunTag(k, v) for k, v in stale.items()]
                    client.log_batch(run.info.run_id, tags=tags)
                if run.info.run_name != run_name(model):
                    client.update_run(run.info.run_id, name=run_name(model))
                touched = bool(stale) or run.info.run_name != run_name(model)
            version = versions.get(model["mlflow_model_version"])
            if version is not None:
                for key, value in wanted.items():
                    if version.tags.get(key) != value:
                        client.set_model_version_tag(registered_model, version.version, key, value)
                        touched = True
            if touched:
                changed.append(model["version"])
    except (MlflowException, OSError) as error:
        log.warning("could not mirror the registry onto MLflow: %s", error)
    return changed
