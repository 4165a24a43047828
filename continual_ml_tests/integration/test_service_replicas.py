"""Two service replicas on one champion pointer and one log folder, as two hosts would share them.

Each replica is a real `bentoml serve` on its own loopback port with its own replica id (what
two hosts' hostnames give). A promotion moves the pointer once; both must serve the new version
within seconds, and every prediction either acknowledged must be ingested exactly once from
logs whose names never collide.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb
import httpx

from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.config import default_config
from continual_ml.ingestion.prediction_logs import ingest_prediction_log
from continual_ml.models.store import export_or_reuse, point_at
from continual_ml.serving.prediction_log import (
    OPEN_SUFFIX,
    close_abandoned,
    closed_logs,
    log_writer,
)
from continual_ml.warehouse.schema import apply_schema
from continual_ml_tests.support.service_support import ROW, export, trained

REPLICAS = ("replica-a", "replica-b")
SWAP_BOUND_S = 10.0  # two polls of 0.5 s plus loading a model, with room for a busy machine


def predict(client: httpx.Client, replica: ServiceProcess, acknowledged: dict) -> int:
    answer = client.post(f"{replica.url}/predict", json={"features": ROW})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    acknowledged[body["prediction_id"]] = body["model_version"]
    return body["model_version"]


def promote(bentoml_home: Path, version: int, first_day: int) -> None:
    """What a promotion does to the store: export (or reuse) the model, then move the pointer."""
    artifact, sha256 = trained(first_day)
    tag, _ = export_or_reuse(bentoml_home, default_config(), version, artifact, sha256)
    point_at(bentoml_home, tag, version, sha256, promoted_by="test")


def test_two_replicas_follow_one_pointer_and_every_prediction_is_ingested_once(tmp_path, config):
    store, logs = tmp_path / "bentoml", tmp_path / "logs"
    export(store, 1, trained(0))
    # A log another host's replica is still writing: its pid means nothing here, so starting
    # replicas must leave it open (only the age rule may close it).
    logs.mkdir()
    foreign = logs / f"predictions-20260101T000000-other-host-{2**22 + 7}-1{OPEN_SUFFIX}"
    foreign.write_text("")
    replicas = [
        ServiceProcess(
            store,
            tmp_path / f"{name}.log",
            logs,
            extra_env={"CONTINUAL_ML_REPLICA_ID": name},
        )
        for name in REPLICAS
    ]
    acknowledged: dict[str, int] = {}
    with ExitStack() as running, httpx.Client(timeout=10) as client:
        for replica in replicas:
            running.enter_context(replica)
        assert foreign.exists()
        for _ in range(50):
            for replica in replicas:
                assert predict(client, replica, acknowledged) == 1

        promote(store, 2, 8)
        promoted = time.monotonic()
        waited = {}
        while len(waited) < len(replicas):
            assert time.monotonic() - promoted < SWAP_BOUND_S, f"only {waited} swapped"
            for replica in replicas:  # predictions keep coming in during the swap
                if predict(client, replica, acknowledged) == 2:
                    waited.setdefault(replica.port, time.monotonic() - promoted)
            time.sleep(0.05)
        print(f"seconds from the pointer moving to each replica serving v2: {waited}")
        for _ in range(50):
            for replica in replicas:
                assert predict(client, replica, acknowledged) == 2
        # stopping a replica closes its logs
    assert foreign.exists()
    foreign.unlink()
    assert not list(logs.glob(f"*{OPEN_SUFFIX}"))
    files = closed_logs(logs)
    writers = [log_writer(path) for path in files]
    assert {replica for replica, _ in writers} == set(REPLICAS)
    assert len({path.name for path in files}) == len(files)

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        apply_schema(conn, config)
        reports = [ingest_prediction_log(conn, config, path) for path in files]
        # a second pass, as a sensor retrying after a crash would make, ingests nothing again
        again = [ingest_prediction_log(conn, config, path) for path in files]
        ingested = dict(
            conn.execute(
                "SELECT prediction_id, count(*) FROM predictions GROUP BY prediction_id"
            ).fetchall()
        )
        versions = dict(
            conn.execute("SELECT prediction_id, model_version FROM predictions").fetchall()
        )
    assert all(report.rows_quarantined == 0 for report in reports)
    assert {report.status for report in again} == {"skipped"}
    assert set(ingested) == set(acknowledged)
    assert set(ingested.values()) == {1}
    assert versions == acknowledged
    assert len(acknowledged) >= 4 * 50


def test_starting_a_replica_closes_its_own_dead_writers_logs_and_leaves_other_hosts(tmp_path):
    dead_pid = 2**22 + 12345  # above the kernel's pid limit: no process has it
    own = tmp_path / f"predictions-20260101T000000-web-1-{dead_pid}-1{OPEN_SUFFIX}"
    other = tmp_path / f"predictions-20260101T000000-web-2-{dead_pid}-1{OPEN_SUFFIX}"
    old_other = tmp_path / f"feedback-20260101T000000-web-2-{dead_pid}-2{OPEN_SUFFIX}"
    for path in (own, other, old_other):
        path.write_text('{"n": 1}\n')
    os.utime(old_other, (time.time() - 600, time.time() - 600))

    closed = close_abandoned(tmp_path, dead_writers=True, replica_id="web-1")
    assert [p.name for p in closed] == [own.name.removesuffix(OPEN_SUFFIX) + ".jsonl"]
    assert other.exists() and old_other.exists()  # web-2's pids are web-2's host's business

    closed = close_abandoned(tmp_path, older_than_seconds=120, replica_id="web-1")
    assert [p.name for p in closed] == [old_other.name.removesuffix(OPEN_SUFFIX) + ".jsonl"]
    assert other.exists()  # fresh: its writer may well be alive on its host
