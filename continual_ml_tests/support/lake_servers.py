"""The servers a DuckLake warehouse needs, on loopback: Postgres for its catalog (from
`postgres_server`) and an S3-compatible object store for its data (moto's server mode)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from continual_ml_tests.support.postgres_server import PostgresServer, start_postgres
from continual_ml_tests.support.processes import free_port

BUCKET = "continual-ml-lake"
ACCESS_KEY_ID = "lake-test-key"
SECRET_ACCESS_KEY = "lake-test-secret"


@contextmanager
def running_object_store() -> Iterator[str]:
    """An S3 store on 127.0.0.1 holding the bucket `BUCKET`; yields its `host:port`."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"127.0.0.1:{port}"
        boto3.client(
            "s3",
            endpoint_url=f"http://{endpoint}",
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


@contextmanager
def running_catalog_server(log_path: Path) -> Iterator[PostgresServer]:
    server = start_postgres(free_port(), log_path)
    try:
        yield server
    finally:
        server.stop()


def lake_environment(
    catalog: PostgresServer, data: Path | None = None, store: str | None = None
) -> dict[str, str]:
    """The settings of a new DuckLake warehouse: a fresh catalog database on `catalog`, its data
    in the folder `data` or under a fresh prefix of the store at `store`."""
    database = f"lake_{uuid.uuid4().hex[:12]}"
    catalog.create_database(database)
    environment = {
        "CONTINUAL_ML_WAREHOUSE_BACKEND": "ducklake",
        "CONTINUAL_ML_DUCKLAKE_CATALOG": (
            f"host={catalog.host} port={catalog.port} dbname={database} "
            f"user={catalog.user} password={catalog.password}"
        ),
    }
    if store is None:
        return environment | {"CONTINUAL_ML_DUCKLAKE_DATA_PATH": f"{data}/"}
    return environment | {
        "CONTINUAL_ML_DUCKLAKE_DATA_PATH": f"s3://{BUCKET}/{database}/",
        "CONTINUAL_ML_S3_ENDPOINT": store,
        "CONTINUAL_ML_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "CONTINUAL_ML_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "CONTINUAL_ML_S3_USE_SSL": "0",
    }
