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
from continual_ml.config import Paths
from continual_ml.defs.data.assets import WAREHOUSE_POOL
from continual_ml.defs.data.reporting import alert_on_quarantine, observation_events
from continual_ml.defs.jobs import SENSOR_INTERVAL_SECONDS, monitoring_job, priority_tag
from continual_ml.defs.monitoring.late_labels import label_events
from continual_ml.defs.monitoring.served_traffic import served_performance_event
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.landed_days import days_in_file
from continual_ml.prediction_log import STALE_OPEN_SECONDS, close_abandoned, closed_logs

FileKind = Literal["observations", "labels", "prediction_log"]
READERS = {
    "observations": ingestion.ingest_file,
    "labels": ingestion.ingest_labels,
    "prediction_log": ingestion.ingest_prediction_log,
}
LANDING_SUFFIXES = (".csv", ".parquet")
ARCHIVE_DIR = "ingested"  # beside the service's logs: the ones already in the warehouse


class IngestFileConfig(dg.Config):
    """The files to ingest, in order, and what they hold."""

    paths: list[str]
    kind: FileKind = "observations"
    # Again, on purpose, though the file's sha256 was seen (e.g. quarantined whole before the
    # config was fixed): observations replace the partitions the file covers.
    force: bool = False


def _read(conn, settings, path: Path, kind: str, force: bool):
    if not force:
        return READERS[kind](conn, settings, path)
    if kind == "observations":
        return ingestion.replace_partitions_from_file(conn, settings, path)
    if kind == "labels":
        return ingestion.ingest_labels(conn, settings, path, force=True)
    raise dg.Failure("force applies to observations and labels; prediction logs are never retried")


def _current_place(path: str) -> Path:
    """The file, or its archived copy when an earlier run of the same request moved it."""
    original = Path(path)
    archived = original.parent / ARCHIVE_DIR / original.name
    return archived if not original.exists() and archived.exists() else original


@dg.op(pool=WAREHOUSE_POOL)
def ingest_landed_file(
    context: dg.OpExecutionContext,
    config: IngestFileConfig,
    dataset: DatasetResource,
    duckdb: DuckDBResource,
    alerts: AlertsResource,
) -> list[dict]:
    """Validate files into DuckDB; bad rows, or a corrupt file whole, go to quarantine."""
    settings = dataset.config
    outcomes, archived = [], []
    with duckdb.get_connection() as conn:
        warehouse.ensure_schema(conn, settings)
        ingestion.ensure_ingestion_schema(conn, settings)
        for path in map(_current_place, config.paths):
            report = _read(conn, settings, path, config.kind, config.force)
            context.log.info(report.summary())
            if config.kind == "observations":
                for event in observation_events(report):
                    context.log_event(event)
            if config.kind in ("labels", "prediction_log"):
                for event in label_events(conn, report):
                    context.log_event(event)
            alert_on_quarantine(report, alerts, context.log)
            if config.kind == "prediction_log" and path.parent.name != ARCHIVE_DIR:
                archived.append(path)
            outcomes.append(
                {
                    "file": path.name,
                    "status": report.status,
                    "rows_good": report.rows_good,
                    "rows_quarantined": report.rows_quarantined,
                    "reason": report.reason or "",
                }
            )
        if config.kind == "prediction_log":
            context.log_event(served_performance_event(conn))
    # Recorded in the warehouse (ingested, skipped as seen, or quarantined with its reason), a
    # log leaves the folder the sensor lists, so neither grows with the service's history.
    for path in archived:
        done = path.parent / ARCHIVE_DIR
        done.mkdir(exist_ok=True)
        path.replace(done / path.name)
    return outcomes


@dg.job(description="Ingest files (observations, labels or prediction logs) into DuckDB.")
def ingest_file_job():
    ingest_landed_file()


def landing_dir() -> Path:
    return Path(os.environ.get("CONTINUAL_ML_LANDING_DIR") or Paths.from_env().home / "landing")


def _run_key(path: Path, kind: str) -> str:
    # The run key names this version of the file; ingestion's sha256 record catches a
    # same-content copy under another name, and a retried run.
    stat = path.stat()
    return f"{kind}:{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def _ingest_request(paths: list[Path], kind: str, priority: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=",".join(_run_key(path, kind) for path in paths),
        job_name=ingest_file_job.name,
        run_config={
            "ops": {
                "ingest_landed_file": {
                    "config": {"paths": [str(path) for path in paths], "kind": kind}
                }
            }
        },
        tags={"continual_ml/file": paths[0].name, **priority_tag(priority)},
    )


def _file_requests(paths: list[Path], kind: str, priority: str) -> list[dg.RunRequest]:
    return [_ingest_request([path], kind, priority) for path in paths]


def _requested(context: dg.SensorEvaluationContext, run_key: str) -> bool:
    return bool(context.instance.get_run_ids(dg.RunsFilter(tags={"dagster/run_key": run_key})))


def _observation_request(path: Path, event_time_column: str) -> dg.RunRequest:
    """A one-day file is landed and monitored in one run; any other goes to plain ingestion."""
    days = days_in_file(path, event_time_column)
    if days is None or len(days) != 1 or days[0] < daily_partitions.start.date():
        [request] = _file_requests([path], "observations", "monitoring")
        return request
    return dg.RunRequest(
        run_key=_run_key(path, "observations"),
        job_name=monitoring_job.name,
        partition_key=str(days[0]),
        run_config={"ops": {"observations": {"config": {"landed_files": [str(path)]}}}},
        tags={"continual_ml/file": path.name},
    )


@dg.sensor(
    jobs=[ingest_file_job, monitoring_job],
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_folder_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource
) -> dg.SensorResult:
    """Land files dropped in the landing folder; a one-day file is monitored in the same run."""
    root = landing_dir()
    found = sorted(p for p in root.glob("*") if p.suffix in LANDING_SUFFIXES)
    labels = sorted(p for p in (root / "labels").glob("*") if p.suffix in LANDING_SUFFIXES)
    # A file already requested is not read again to route it: its run key says it was seen.
    new = [p for p in found if not _requested(context, _run_key(p, "observations"))]
    event_time = dataset.config.event_time_column
    requests = [_observation_request(path, event_time) for path in new]
    requests += _file_requests(labels, "labels", "monitoring")
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else f"no files in {root}",
    )


@dg.sensor(
    job=ingest_file_job,
    # Bookkeeping, not the loop: gather the service's logs into fewer, larger runs.
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS * 6,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def prediction_log_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Ingest the service's closed prediction and feedback logs, each file once."""
    directory = Paths.from_env().prediction_logs
    # A worker killed outright never closes its log; untouched this long, it never will.
    close_abandoned(directory, older_than_seconds=STALE_OPEN_SECONDS)
    # Predictions before feedback: a label can only join a prediction that is already in.
    logs = sorted(
        closed_logs(directory), key=lambda p: (not p.name.startswith("predictions"), p.name)
    )
    # All of them in one run, so the single run slot is not taken once per small file.
    requests = [_ingest_request(logs, "prediction_log", "prediction_log")] if logs else []
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else f"no closed prediction logs in {directory}",
    )
