"""Two writer processes racing on the same new keys, 20 rounds, on the DuckDB file and on DuckLake
(catalog in Postgres, data on an S3 store): every key ends with one row, every file and row id
lands once (`continual_ml.warehouse.claims`)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from continual_ml.demo.synthetic_stream import batch_file
from continual_ml.warehouse.connection import warehouse_connection, warehouse_location
from continual_ml.warehouse.schema import apply_schema
from continual_ml_tests.support.keyed_writers import KEYS, round_day
from continual_ml_tests.support.lake_servers import (
    lake_environment,
    running_catalog_server,
    running_object_store,
)
from continual_ml_tests.support.write_races import duplicate_keys, race

ROUNDS = 20
WRITERS = 2


@pytest.fixture(scope="module")
def lake_servers(tmp_path_factory):
    with (
        running_catalog_server(tmp_path_factory.mktemp("catalog") / "postgres.log") as catalog,
        running_object_store() as store,
    ):
        yield catalog, store


@pytest.fixture(params=["duckdb_file", "ducklake_s3"])
def backend(request, home, monkeypatch, config) -> str:
    """The backend the home's settings (and so the writers') select, its schema applied."""
    if request.param == "ducklake_s3":
        catalog, store = request.getfixturevalue("lake_servers")
        for name, value in lake_environment(catalog, store=store).items():
            monkeypatch.setenv(name, value)
    with warehouse_connection(warehouse_location(home)) as conn:
        apply_schema(conn, config)
    return request.param


def test_two_writers_of_each_new_key_leave_one_row(home, backend, tmp_path):
    """Each round both writers write the same new key of every keyed table at once."""
    result = race(tmp_path, [["keyed"]] * WRITERS, ROUNDS)
    with warehouse_connection(warehouse_location(home)) as conn:
        duplicates = {t: duplicate_keys(conn, t, key) for t, key in KEYS.items()}
        keys = {
            t: conn.execute(f"SELECT count(DISTINCT ({', '.join(key)})) FROM {t}").fetchone()[0]
            for t, key in KEYS.items()
        }
    report = {"backend": backend, "trials": ROUNDS, "duplicates": duplicates}
    print(json.dumps(report | {"conflicts_retried": result.conflicts_retried}))
    assert duplicates == dict.fromkeys(KEYS, 0)
    assert keys == dict.fromkeys(KEYS, ROUNDS)


def test_a_file_or_its_row_ids_landed_twice_at_once_land_once(home, backend, config, tmp_path):
    """Even rounds: both writers land the same file at once. Odd rounds: one lands the day's
    Parquet file while the other lands the same rows as CSV (other bytes, the same row ids)."""
    files = tmp_path / "files"
    files.mkdir()
    first, second, expected_rows = [], [], 0
    for r in range(ROUNDS):
        parquet = batch_file(config, round_day(r), files)
        expected_rows += len(pd.read_parquet(parquet))
        if r % 2:
            csv = parquet.with_suffix(".csv")
            pd.read_parquet(parquet).to_csv(csv, index=False)
        first.append(str(parquet))
        second.append(str(csv if r % 2 else parquet))
    result = race(tmp_path, [["ingest", *first], ["ingest", *second]], ROUNDS)
    with warehouse_connection(warehouse_location(home)) as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT row_id) FROM observations"
        ).fetchone()
        files_twice = duplicate_keys(conn, "ingested_files", ("kind", "sha256"))
        landed = conn.execute("SELECT count(*) FROM ingested_files").fetchone()[0]
    report = {"backend": backend, "trials": ROUNDS, "row_ids_twice": rows - distinct}
    print(json.dumps(report | {"files_twice": files_twice, "retried": result.conflicts_retried}))
    assert (rows, distinct, files_twice) == (expected_rows, expected_rows, 0)
    assert landed == ROUNDS + ROUNDS // 2  # each file once: the day's file, and each CSV twin
