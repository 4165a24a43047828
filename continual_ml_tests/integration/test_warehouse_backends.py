"""Every warehouse write path on each backend: the DuckDB file, and DuckLake with its catalog in
a real Postgres and its data on a real S3 store (moto's server) or in a folder.

The DuckLake cases start servers, so they are `integration`; each starts a fresh catalog.
"""

from __future__ import annotations

import contextlib
import shutil

import dagster as dg
import duckdb
import pandas as pd
import pytest

from continual_ml.decisions import promotion
from continual_ml.decisions.promotion import ModelStores
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.data.checks import observations_are_valid
from continual_ml.defs.monitoring.assets import drift_explanation, drift_report
from continual_ml.defs.monitoring.performance import model_performance
from continual_ml.defs.resources import WarehouseResource, build_resources
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.defs.training.checks import candidate_beats_champion
from continual_ml.demo.synthetic_stream import batch_file, partition_date
from continual_ml.ingestion import ingest_file, replace_partitions_from_file
from continual_ml.models.store import read_pointer
from continual_ml.warehouse import registry
from continual_ml.warehouse.connection import (
    CATALOG,
    WarehouseLocation,
    open_warehouse,
    warehouse_connection,
    warehouse_location,
)
from continual_ml.warehouse.schema import apply_schema
from continual_ml.warehouse.sql import is_conflict
from continual_ml_tests.support.lake_servers import (
    free_port,
    lake_environment,
    running_catalog_server,
    running_object_store,
)
from continual_ml_tests.support.model_registry import model_row, scalar
from continual_ml_tests.support.synthetic_days import landed, materialize_day

LAKES = ("ducklake_s3", "ducklake_folder")
BACKENDS = ["duckdb_file", *(pytest.param(name, marks=pytest.mark.integration) for name in LAKES)]
RETRAIN = [candidate_model, evaluation_scores, candidate_beats_champion, champion_model]
MONITOR = [current_window, reference_window, drift_report, model_performance]


@pytest.fixture(scope="module")
def catalog_server(tmp_path_factory):
    with running_catalog_server(tmp_path_factory.mktemp("catalog") / "postgres.log") as server:
        yield server


@pytest.fixture(scope="module")
def object_store():
    with running_object_store() as endpoint:
        yield endpoint


@pytest.fixture(params=BACKENDS)
def warehouse_backend(request, home, monkeypatch, tmp_path) -> str:
    """The backend the home's settings select; a DuckLake gets a new catalog and data path."""
    if request.param in LAKES:
        catalog = request.getfixturevalue("catalog_server")
        store = request.getfixturevalue("object_store") if request.param == "ducklake_s3" else None
        for name, value in lake_environment(catalog, tmp_path / "lake", store).items():
            monkeypatch.setenv(name, value)
    return request.param


def with_bad_rows(path, n_bad: int):
    """The batch with its first `n_bad` rows' `x1` made unreadable, as CSV."""
    frame = pd.read_parquet(path).astype({"x1": "object"})
    frame.loc[: n_bad - 1, "x1"] = "not a number"
    out = path.with_suffix(".csv")
    frame.to_csv(out, index=False)
    return out


def test_a_day_lands_once_with_every_row_counted(home, warehouse_backend, config, tmp_path):
    day = partition_date(config, 3)
    path = with_bad_rows(batch_file(config, day, tmp_path), n_bad=3)
    rows_in = len(pd.read_csv(path))
    with warehouse_connection(warehouse_location(home)) as conn:
        first = ingest_file(conn, config, path)
        assert (first.status, first.rows_in, first.rows_quarantined) == ("ingested", rows_in, 3)
        assert first.rows_good == rows_in - 3
        landed_rows = "SELECT count(*) FROM observations WHERE partition_date = ?"
        assert scalar(conn, landed_rows, [day]) == rows_in - 3
        assert scalar(conn, "SELECT count(*) FROM quarantined_rows") == 3
        # the same file again: nothing twice; reprocessing the day replaces it, no duplicates
        assert ingest_file(conn, config, path).status == "skipped"
        replaced = replace_partitions_from_file(conn, config, path)
        assert replaced.replaced == (day,) and replaced.rows_good == rows_in - 3
        assert scalar(conn, landed_rows, [day]) == rows_in - 3
        assert scalar(conn, "SELECT count(DISTINCT row_id) FROM observations") == rows_in - 3
        assert scalar(conn, "SELECT count(*) FROM ingested_files") == 2


def test_a_runs_steps_share_one_lake_attach_and_open_the_file_each(home, warehouse_backend):
    """DuckLake is attached once per run, by its first step, and the later steps reuse it; the
    DuckDB file is opened by each step and closed after it, so other runs' steps get it between.
    A setting of the database instance (not of one connection) tells the two apart."""

    @dg.asset
    def first(duckdb: WarehouseResource) -> None:
        with duckdb.get_connection() as conn:
            conn.execute("SET GLOBAL default_order = 'DESC'")
            conn.execute("BEGIN")  # left open: the step's cursor ends it, not the next step

    @dg.asset(deps=[first])
    def second(duckdb: WarehouseResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as conn:
            order = scalar(conn, "SELECT current_setting('default_order')")
            catalog = scalar(conn, "SELECT current_database()")
            # A transaction of its own: none left open by the first step.
            conn.execute("BEGIN")
            conn.execute("COMMIT")
        return dg.MaterializeResult(metadata={"order": order, "catalog": catalog})

    result = dg.materialize([first, second], resources=build_resources(home))
    [event] = result.asset_materializations_for_node("second")
    shared = warehouse_backend != "duckdb_file"
    assert (event.metadata["order"].value.lower() == "desc") is shared
    assert event.metadata["catalog"].value == (CATALOG if shared else home.warehouse.stem)


# The loop on a DuckLake folder repeats the S3 case's code paths for ~25 s: out of the default run.
LOOP_BACKENDS = [
    *BACKENDS[:2],
    pytest.param("ducklake_folder", marks=[pytest.mark.integration, pytest.mark.slow]),
]


@pytest.mark.parametrize("warehouse_backend", LOOP_BACKENDS, indirect=True)
def test_the_loop_writes_every_table_and_keeps_one_champion(
    home, warehouse_backend, config, instance
):
    """Ingestion and its check, windows, drift, performance, two trainings with their gate and
    promotion, then rollback, rejection and approval: all through the assets' own code."""
    stores = ModelStores(home.bentoml_home, home.mlflow_tracking_uri, config)
    for days, trained_on in (((0, 1, 2), 2), ((8, 9, 10), 10)):
        for index in days:
            day = partition_date(config, index)
            materialize_day(
                [observations, observations_are_valid], day, home, instance, landed(day, home.home)
            )
        materialize_day(RETRAIN, partition_date(config, trained_on), home, instance)
    materialize_day(MONITOR, partition_date(config, 10), home, instance)
    day = partition_date(config, 10)
    # Evidently renders from monitoring's samples; a worker without them (workers have reports
    # folders of their own) reads the rows from DuckLake, never from the single-writer file.
    shutil.rmtree(home.reports / "drift" / "samples")
    explained = materialize_day([drift_explanation], day, home, instance)
    [event] = explained.asset_materializations_for_node(drift_explanation.op.name)
    rendered = str(event.metadata["report"].value).endswith(f"{day}.html")
    assert rendered == (warehouse_backend != "duckdb_file")
    with warehouse_connection(warehouse_location(home)) as conn:
        for table, where in (
            ("partition_validation", "partition_date = ?"),
            ("data_windows", "partition_date = ?"),
            ("drift_reports", "partition_date = ?"),
            ("performance_history", "partition_date = ?"),
        ):
            assert scalar(conn, f"SELECT count(*) FROM {table} WHERE {where}", [day]) in (1, 2)
        assert scalar(conn, "SELECT count(*) FROM drift_scores WHERE partition_date = ?", [day])
        assert scalar(conn, "SELECT count(*) FROM gate_results") == 2
        assert scalar(conn, "SELECT count(*) FROM evaluation_scores") > 0
        versions = conn.execute("SELECT version, status FROM model_registry ORDER BY 1").fetchall()
        assert [v for v, _ in versions] == [1, 2]
        champion = registry.current_champion(conn)["version"]
        assert read_pointer(home.bentoml_home)["version"] == champion
        # monitoring the same day again replaces its rows rather than adding to them
    materialize_day(MONITOR, day, home, instance)
    with warehouse_connection(warehouse_location(home)) as conn:
        for table in ("data_windows", "drift_reports", "performance_history"):
            n = scalar(conn, f"SELECT count(*) FROM {table} WHERE partition_date = ?", [day])
            assert n == (2 if table == "data_windows" else 1), table
        other = 1 if champion == 2 else 2
        if registry.load_model_row(conn, other)["status"] != "retired":
            registry.record_decision(conn, other, "retired", "retired", "test setup", "test")
        assert promotion.rollback(conn, stores, other, actor="person:test")["champion_version"]
        assert registry.current_champion(conn)["version"] == other
        registry.record_decision(conn, champion, "pending_approval", "pending", "again", "test")
        promotion.approve(conn, stores, champion, actor="person:bob")
        assert registry.current_champion(conn)["version"] == champion
        assert read_pointer(home.bentoml_home)["version"] == champion
        statuses = dict(conn.execute("SELECT version, status FROM model_registry").fetchall())
        assert sorted(statuses.values()) == ["champion", "retired"]
        ids = [i for (i,) in conn.execute("SELECT id FROM promotions ORDER BY id").fetchall()]
        assert ids == list(range(1, len(ids) + 1))
        assert conn.execute(
            "SELECT action, actor, champion_version FROM promotions ORDER BY id DESC LIMIT 1"
        ).fetchone() == ("approved", "person:bob", champion)


def test_concurrent_champion_changes_conflict_and_leave_one_champion(
    home, warehouse_backend, config
):
    """Two connections make two candidates champion at once: one change waits for the other
    (it conflicts and is retried), never two champions."""
    location = warehouse_location(home)
    with warehouse_connection(location) as first, warehouse_connection(location) as second:
        apply_schema(first, config)
        for version in (1, 2):
            registry.register_model(first, **model_row(version))
        for conn in (first, second):
            conn.execute("BEGIN TRANSACTION")
        champion(first, 1)
        # The file's transactions conflict at the second write, DuckLake's at the second commit.
        with pytest.raises(duckdb.TransactionException) as lost:
            champion(second, 2)
            first.execute("COMMIT")
            second.execute("COMMIT")
        assert is_conflict(lost.value)
        for conn, end in ((second, "ROLLBACK"), (first, "COMMIT")):
            with contextlib.suppress(duckdb.TransactionException):  # no transaction left
                conn.execute(end)
        assert registry.current_champion(second)["version"] == 1
        assert scalar(second, "SELECT count(*) FROM promotions") == 1


def champion(conn, version: int) -> None:
    registry.record_change(
        conn, version, "champion", "promoted", "test", "test",
        partition_date=None, previous_champion=None, champion_version=version,
    )  # fmt: skip


def test_a_catalog_that_cannot_be_reached_is_named_without_its_password(tmp_path):
    location = WarehouseLocation(
        backend="ducklake",
        catalog=f"host=127.0.0.1 port={free_port()} dbname=lake user=u password=hunter2",
        data_path=str(tmp_path / "lake"),
    )
    with pytest.raises(duckdb.Error) as refused:
        open_warehouse(location)
    assert "hunter2" not in str(refused.value) and "***" in str(refused.value)
