"""Models in the registry for the promotion and warehouse tests: a registry row, three models
registered in the warehouse and MLflow with v1 champion, and the champion as each store names
it."""

from __future__ import annotations

import hashlib

import pandas as pd
from mlflow.tracking import MlflowClient

from continual_ml.decisions import promotion
from continual_ml.decisions.promotion import REGISTERED_MODEL, ModelStores, champion_alias
from continual_ml.models.store import read_pointer
from continual_ml.warehouse import registry
from continual_ml.warehouse.connection import warehouse_connection, warehouse_location
from continual_ml.warehouse.schema import apply_schema


def scalar(conn, sql: str, params=()):
    return conn.execute(sql, list(params)).fetchone()[0]


def model_row(version: int) -> dict:
    return {
        "partition_date": pd.Timestamp("2024-01-01").date(),
        "sha256": f"{version:064d}",
        "artifact": b"model",
        "family": "test",
        "params": "{}",
        "features": "[]",
        "training_start": pd.Timestamp("2024-01-01").date(),
        "training_end": pd.Timestamp("2024-01-02").date(),
        "n_train": 1,
        "data_sha256": "0" * 64,
    }


def three_models(home, config, tmp_path) -> ModelStores:
    """v1, v2 and v3 in the warehouse and as MLflow model versions; v1 champion everywhere."""
    stores = ModelStores(home.bentoml_home, home.mlflow_tracking_uri, config)
    client = MlflowClient(home.mlflow_tracking_uri)
    client.create_registered_model(REGISTERED_MODEL)
    with warehouse_connection(warehouse_location(home)) as conn:
        apply_schema(conn, config)
        for version in (1, 2, 3):
            source = tmp_path / f"model-{version}"
            source.mkdir()
            mlflow_version = client.create_model_version(REGISTERED_MODEL, str(source)).version
            artifact = f"model {version}".encode()
            row = model_row(version) | {
                "artifact": artifact,
                "sha256": hashlib.sha256(artifact).hexdigest(),
                "mlflow_model_version": int(mlflow_version),
            }
            assert registry.register_model(conn, **row) == version
        promotion.promote(conn, stores, 1, action="promoted", reason="first", actor="test")
    return stores


def champions(conn, stores: ModelStores) -> tuple[int, int, int]:
    """The champion as each store names it: the warehouse, MLflow's alias, BentoML's pointer."""
    by_mlflow_version = dict(
        conn.execute("SELECT mlflow_model_version, version FROM model_registry").fetchall()
    )
    return (
        registry.current_champion(conn)["version"],
        by_mlflow_version[champion_alias(stores)],
        read_pointer(stores.bentoml_home)["version"],
    )
