"""The scale-out profile on DuckLake, as the worker tests run it: Postgres (Dagster's storage, the
broker and the lake's catalog) and an S3 store on loopback; day files landed in its folder, and
what the tests read from the runs they become."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.settings import Settings
from continual_ml.warehouse.connection import (
    WarehouseLocation,
    location_from_settings,
    warehouse_connection,
)
from continual_ml_tests.support.lake_servers import lake_environment, running_object_store
from continual_ml_tests.support.postgres_server import PostgresServer, running_postgres
from continual_ml_tests.support.processes import free_port
from continual_ml_tests.support.scale_out import ScaleOut

RUN_SECONDS = 300
DAY_ROWS = 300_000  # a few seconds of ingestion: time to kill it, and for two to overlap
FILE_TAG = "continual_ml/file"


@contextmanager
def ducklake_profile(
    state: Path, **settings: str
) -> Iterator[tuple[PostgresServer, dict[str, str]]]:
    """Postgres and the S3 store running; yields Postgres and the profile's settings: the lake's,
    a landing folder and an MLflow store under `state`, then `settings`."""
    (state / "landing").mkdir()
    with (
        running_postgres(free_port(), state / "postgres.log") as postgres,
        running_object_store() as store,
    ):
        yield (
            postgres,
            {
                **lake_environment(postgres, store=store),
                "CONTINUAL_ML_LANDING_DIR": str(state / "landing"),
                "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
                **settings,
            },
        )


@dataclass
class Deployment:
    scale_out: ScaleOut
    landing: Path
    warehouse: WarehouseLocation

    def runs_for(self, file_name: str) -> list[dg.DagsterRun]:
        return list(self.scale_out.instance.get_runs(dg.RunsFilter(tags={FILE_TAG: file_name})))

    def land(self, day_index: int, rows: int) -> Path:
        """A valid observations file for one day, `rows` rows (the demo's batch, repeated)."""
        config = default_config()
        batch = generate_batch(config, partition_date(config, day_index))
        repeats = -(-rows // len(batch))
        frame = pd.concat([batch] * repeats, ignore_index=True).head(rows)
        # Row ids unique, as the warehouse wants them.
        frame["row_id"] = [f"{day_index}-{i:07d}" for i in range(len(frame))]
        staged = self.landing.parent / f"day{day_index}.parquet"
        frame.to_parquet(staged, index=False)
        # Moved in whole: the sensor never sees a half-written file.
        return Path(shutil.move(staged, self.landing / staged.name))


def assert_landed_once(deployment: Deployment, day_index: int, path: Path) -> None:
    """The day holds the file's rows once, and the ledger one ingestion of it."""
    day = partition_date(default_config(), day_index)
    with warehouse_connection(deployment.warehouse, read_only=True) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM observations WHERE partition_date = ?", [day]
        ).fetchone()[0]
        ledger = conn.execute(
            "SELECT rows_good FROM ingested_files WHERE source = ?", [path.name]
        ).fetchall()
    assert rows == DAY_ROWS
    assert ledger == [(DAY_ROWS,)]


def step_events(instance, run_id: str, event_type: dg.DagsterEventType) -> list:
    records = instance.get_records_for_run(run_id, of_type=event_type).records
    return [record.event_log_entry for record in records]


def warehouse_location(settings: dict[str, str]):
    return location_from_settings(Settings.from_env(settings), Path("unused.duckdb"))


def finished(deployment: Deployment, file_name: str, retries: int = 0) -> dg.DagsterRun | None:
    """The file's newest run once it and `retries` retries of it are finished."""
    runs = deployment.runs_for(file_name)
    if len(runs) < retries + 1 or not all(run.is_finished for run in runs):
        return None
    return runs[0]


def wait_for_step_start(deployment: Deployment, file_name: str, step_key: str):
    instance, processes = deployment.scale_out.instance, deployment.scale_out.processes
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        processes.check_alive()
        for run in deployment.runs_for(file_name):
            for entry in step_events(instance, run.run_id, dg.DagsterEventType.STEP_START):
                if entry.step_key == step_key:
                    return run, entry
        time.sleep(0.05)
    pytest.fail(f"{step_key} of {file_name} did not start\n{processes.tails()}")
