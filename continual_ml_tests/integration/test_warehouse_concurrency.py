"""Writers in several processes on one DuckLake: four ingesting, one changing the champion."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from continual_ml.demo.synthetic_stream import batch_file, partition_date
from continual_ml.warehouse import registry
from continual_ml.warehouse.champion import change_champion
from continual_ml.warehouse.connection import warehouse_connection, warehouse_location
from continual_ml.warehouse.schema import apply_schema
from continual_ml_tests.support.lake_servers import (
    lake_environment,
    running_catalog_server,
    running_object_store,
)
from continual_ml_tests.support.model_registry import champions, model_row, scalar, three_models


@pytest.fixture
def lake_on_s3(home, monkeypatch, tmp_path):
    """The home's settings select a new DuckLake, its catalog in Postgres, its data on S3."""
    with (
        running_catalog_server(tmp_path / "postgres.log") as catalog,
        running_object_store() as store,
    ):
        for name, value in lake_environment(catalog, store=store).items():
            monkeypatch.setenv(name, value)
        yield


# Two processes changing the champion in the warehouse alone, so that their changes conflict
# and are retried; or one, as the promotion pool of one allows, changing it in every store.
CHAMPION_CHANGERS = {"swap": 2, "promote": 1}


@pytest.mark.parametrize("changer", list(CHAMPION_CHANGERS))
def test_four_ingesting_processes_and_champion_changes_lose_and_duplicate_nothing(
    home, lake_on_s3, config, tmp_path, changer
):
    """Four processes ingest three days each into one DuckLake while others change the champion
    twenty times each: every row lands once, and the registry holds one champion whose history
    is an unbroken chain of every change. Through `promote`, the MLflow alias and the BentoML
    pointer name the warehouse's champion at the end."""
    writers, days_each, swaps = 4, 3, 20
    batches = [
        [batch_file(config, partition_date(config, w * days_each + d), tmp_path) for d in range(3)]
        for w in range(writers)
    ]
    stores = three_models(home, config, tmp_path) if changer == "promote" else None
    if stores is None:
        with warehouse_connection(warehouse_location(home)) as conn:
            apply_schema(conn, config)
            for version in (1, 2):
                registry.register_model(conn, **model_row(version))
            conn.execute("BEGIN TRANSACTION")
            change_champion(conn, 1, "promoted", "test", "test", expected=None)
            conn.execute("COMMIT")
    go = tmp_path / "go"
    commands = [["ingest", str(go), *map(str, files)] for files in batches]
    commands += [[changer, str(go), str(swaps)]] * CHAMPION_CHANGERS[changer]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "continual_ml_tests.support.lake_workers", *command],
            stdout=subprocess.PIPE,
            stderr=(tmp_path / f"worker-{i}.log").open("w"),
            text=True,
            start_new_session=True,
        )
        for i, command in enumerate(commands)
    ]
    try:
        time.sleep(3)  # let them import and attach, then start together
        go.touch()
        outputs = [p.communicate(timeout=240)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert [p.returncode for p in processes] == [0] * len(processes), [
        (tmp_path / f"worker-{i}.log").read_text()[-2000:] for i in range(len(processes))
    ]
    reports = [json.loads(line) for text in outputs[:writers] for line in text.splitlines()]
    assert [r["status"] for r in reports] == ["ingested"] * writers * days_each
    expected = {day: n for r in reports for day, n in r["partitions"].items()}
    assert len(expected) == writers * days_each
    with warehouse_connection(warehouse_location(home)) as conn:
        stored = dict(
            conn.execute(
                "SELECT partition_date::VARCHAR, count(*) FROM observations GROUP BY ALL"
            ).fetchall()
        )
        assert stored == expected
        assert scalar(conn, "SELECT count(DISTINCT row_id) FROM observations") == sum(
            expected.values()
        )
        assert scalar(conn, "SELECT count(DISTINCT ingestion_id) FROM ingested_files") == 12
        statuses = conn.execute("SELECT version, status FROM model_registry ORDER BY 1").fetchall()
        history = conn.execute(
            "SELECT id, previous_champion, champion_version FROM promotions ORDER BY id"
        ).fetchall()
        if stores is not None:
            warehouse, alias, pointer = champions(conn, stores)
            assert warehouse == alias == pointer == history[-1][2]
    assert sorted(s for v, s in statuses if v in (1, 2)) == ["champion", "retired"]
    changes = swaps * CHAMPION_CHANGERS[changer]
    assert [i for i, _, _ in history] == list(range(1, changes + 2))
    for (_, _, before), (_, previous, after) in itertools.pairwise(history):
        assert previous == before and after != before
    assert dict(statuses)[history[-1][2]] == "champion"
    retries = sum(
        (tmp_path / f"worker-{i}.log").read_text().count("retrying") for i in range(len(commands))
    )
    print(f"per partition {stored}; {len(history)} promotions; {retries} conflicts retried")
