"""Bringing files in: the landing folder, the service's prediction logs and one-off files.

Every path runs `ingest_file_job`, which validates in DuckDB, quarantines what fails with its
reason, and records each file's sha256 so a file is ingested once however often it is seen.
"""

import os
from pathlib import Path
from typing import Literal

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml import ingestion, warehouse
from continual_ml.alerts import Alert
from continual_ml.config import Paths
from continual_ml.defs.data.assets import WAREHOUSE_POOL
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.prediction_log import closed_logs

FileKind = Literal["observations", "labels", "prediction_log"]
READERS = {
    "observations": ingestion.ingest_file,
    "labels": ingestion.ingest_labels,
    "prediction_log": ingestion.ingest_prediction_log,
}
LANDING_SUFFIXES = (".csv", ".parquet")


class IngestFileConfig(dg.Config):
    path: str
    kind: FileKind = "observations"


@dg.op(pool=WAREHOUSE_POOL)
def ingest_landed_file(
    context: dg.OpExecutionContext,
    config: IngestFileConfig,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
) -> dict:
    """Validate one file into DuckDB; bad rows, or a corrupt file whole, go to quarantine."""
    settings = dataset.config
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, settings)
        ingestion.ensure_ingestion_schema(conn, settings)
        report = READERS[config.kind](conn, settings, Path(config.path))
    context.log.info(report.summary())
    if config.kind == "observations":
        for partition, n_rows in sorted(report.partitions.items()):
            context.log_event(
                dg.AssetMaterialization(
                    asset_key="observations",
                    partition=str(partition),
                    metadata={
                        "dagster/row_count": n_rows,
                        "source": Path(config.path).name,
                        "rows_quarantined_from_file": report.rows_quarantined,
                        "quarantine_reasons": dg.MetadataValue.json(report.rule_counts),
                    },
                )
            )
    if report.status == "quarantined" or report.rows_quarantined:
        alerts.send(
            Alert(
                "rows_quarantined",
                f"Quarantined from {Path(config.path).name}",
                report.reason or f"{report.rows_quarantined} of {report.rows_in} rows quarantined",
                {rule: str(n) for rule, n in sorted(report.rule_counts.items())},
            ),
            context.log,
        )
    return {
        "status": report.status,
        "rows_good": report.rows_good,
        "rows_quarantined": report.rows_quarantined,
        "reason": report.reason or "",
    }


@dg.job(description="Ingest one file (observations, labels or a prediction log) into DuckDB.")
def ingest_file_job():
    ingest_landed_file()


def landing_dir() -> Path:
    return Path(os.environ.get("CONTINUAL_ML_LANDING_DIR") or Paths.from_env().home / "landing")


def _file_requests(paths: list[Path], kind: str) -> list[dg.RunRequest]:
    requests = []
    for path in paths:
        stat = path.stat()
        # The run key names this version of the file; ingestion's sha256 record catches a
        # same-content copy under another name, and a retried run.
        requests.append(
            dg.RunRequest(
                run_key=f"{kind}:{path.name}:{stat.st_size}:{stat.st_mtime_ns}",
                run_config={
                    "ops": {"ingest_landed_file": {"config": {"path": str(path), "kind": kind}}}
                },
                tags={"continual_ml/file": path.name},
            )
        )
    return requests


@dg.sensor(
    job=ingest_file_job, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING
)
def landing_folder_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Ingest CSV and Parquet files dropped in the landing folder (labels under `labels/`)."""
    root = landing_dir()
    found = {
        "observations": sorted(p for p in root.glob("*") if p.suffix in LANDING_SUFFIXES),
        "labels": sorted(p for p in (root / "labels").glob("*") if p.suffix in LANDING_SUFFIXES),
    }
    requests = [r for kind, paths in found.items() for r in _file_requests(paths, kind)]
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else f"no files in {root}",
    )


@dg.sensor(
    job=ingest_file_job, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING
)
def prediction_log_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Ingest the service's closed prediction and feedback logs, each file once."""
    directory = Paths.from_env().prediction_logs
    # Predictions before feedback: a label can only join a prediction that is already in.
    logs = sorted(
        closed_logs(directory), key=lambda p: (not p.name.startswith("predictions"), p.name)
    )
    requests = _file_requests(logs, "prediction_log")
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else f"no closed prediction logs in {directory}",
    )
