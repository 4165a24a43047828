"""The continual-learning loop on the scale-out profile, every step on Celery workers, on DuckLake.

Landed day files become sensor-launched monitoring runs (two days apart: two runs side by side),
the first-champion sensor trains v1 on the first days, drifted days make the retrain policy ask
for a retrain, and the candidate is promoted: the champion pointer and the registry name v2, and
two service replicas following the pointer both serve v2 within seconds. Every step of every run
executes in a worker process. Real Postgres, code server, daemon and two
`continual-ml worker` processes; MLflow and the BentoML store where the settings point.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import httpx
import pytest

from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.models.store import read_pointer
from continual_ml.warehouse import registry
from continual_ml.warehouse.connection import (
    WarehouseLocation,
    warehouse_connection,
)
from continual_ml_tests.support.scale_out import ScaleOut, running_scale_out
from continual_ml_tests.support.service_support import ROW
from continual_ml_tests.support.worker_runs import ducklake_profile, warehouse_location

LOOP_SECONDS = 600
FIRST_DAYS = (0, 1, 2)  # the training window: the first champion's days
DRIFTED_DAYS = (9, 11)  # after the stream's drift day, apart: one run each
REPLICAS = ("replica-a", "replica-b")
SWAP_BOUND_S = 10.0  # as in test_service_replicas: two polls and a model load, on a busy machine

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@dataclass
class Loop:
    scale_out: ScaleOut
    landing: Path
    warehouse: WarehouseLocation
    bentoml_home: Path

    def land(self, day_index: int) -> None:
        config = default_config()
        staged = self.landing.parent / f"day{day_index:02d}.parquet"
        generate_batch(config, partition_date(config, day_index)).to_parquet(staged, index=False)
        shutil.move(staged, self.landing / staged.name)

    def champion_version(self) -> int | None:
        pointer = read_pointer(self.bentoml_home)
        return pointer["version"] if pointer else None

    def runs(self, **filters) -> list[dg.DagsterRun]:
        return list(self.scale_out.instance.get_runs(dg.RunsFilter(**filters)))


@pytest.fixture(scope="module")
def loop(tmp_path_factory) -> Iterator[Loop]:
    """DuckLake (catalog in Postgres, data on S3 on loopback), two slots for per-day steps."""
    state = tmp_path_factory.mktemp("loop-on-workers")
    (state / "bentoml").mkdir()
    with ducklake_profile(state, BENTOML_HOME=str(state / "bentoml")) as (postgres, settings):
        location = warehouse_location(settings)
        with running_scale_out(
            state, settings, workers=2, warehouse_slots=2, postgres=postgres
        ) as scale_out:
            yield Loop(scale_out, state / "landing", location, state / "bentoml")


def served_version(client: httpx.Client, replica: ServiceProcess) -> int:
    answer = client.post(f"{replica.url}/predict", json={"features": ROW})
    assert answer.status_code == 200, answer.text
    return answer.json()["model_version"]


def test_landed_days_are_monitored_retrained_on_and_promoted_on_workers(loop, tmp_path):
    processes = loop.scale_out.processes
    for day in FIRST_DAYS:
        loop.land(day)
    processes.wait_for("first champion v1", lambda: loop.champion_version() == 1, LOOP_SECONDS)
    replicas = [
        ServiceProcess(
            loop.bentoml_home,
            tmp_path / f"{name}.log",
            tmp_path / "prediction_logs",
            extra_env={"CONTINUAL_ML_REPLICA_ID": name},
        )
        for name in REPLICAS
    ]
    with ExitStack() as running, httpx.Client(timeout=10) as client:
        for replica in replicas:
            running.enter_context(replica)
        assert [served_version(client, replica) for replica in replicas] == [1, 1]
        for day in DRIFTED_DAYS:
            loop.land(day)
        processes.wait_for(
            "champion v2 promoted", lambda: loop.champion_version() == 2, LOOP_SECONDS
        )
        promoted, swapped = time.monotonic(), set()
        while len(swapped) < len(replicas):
            assert time.monotonic() - promoted < SWAP_BOUND_S, f"only {swapped} serve v2"
            swapped |= {r.port for r in replicas if served_version(client, r) == 2}
            time.sleep(0.2)

    with warehouse_connection(loop.warehouse, read_only=True) as conn:
        assert registry.current_champion(conn)["version"] == 2
        rows = conn.execute("SELECT DISTINCT partition_date FROM drift_reports").fetchall()
        days = {d for (d,) in rows}
    config = default_config()
    assert {partition_date(config, d) for d in DRIFTED_DAYS} <= days
    # The pointer moves inside the promoting step: its run ends a moment later.
    processes.wait_for(
        "the policy's retrain run succeeded",
        lambda: loop.runs(
            job_name="retrain_job",
            tags={"continual_ml/trigger": "policy"},
            statuses=[dg.DagsterRunStatus.SUCCESS],
        ),
        LOOP_SECONDS,
    )

    # Every step of every run that succeeded executed in a worker process, not in its run.
    instance, workers = loop.scale_out.instance, loop.scale_out.worker_processes()
    succeeded = loop.runs(statuses=[dg.DagsterRunStatus.SUCCESS])
    assert {run.job_name for run in succeeded} >= {"monitoring_job", "retrain_job"}
    for run in succeeded:
        records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        pids = {record.event_log_entry.dagster_event.pid for record in records.records}
        assert pids and pids <= set(workers), (run.job_name, pids, workers)
