"""Bringing files in: the landing folder, the service's prediction logs and one-off files.

Every path runs `ingest_file_job`, which validates in DuckDB, quarantines what fails with its
reason, and records each file's sha256 so a file is ingested once however often it is seen.
"""

from pathlib import Path
from typing import Literal

import dagster as dg
from dagster_duckdb import DuckDBResource

from continual_ml import ingestion
from continual_ml.defs.data.reporting import alert_on_quarantine, observation_events
from continual_ml.defs.monitoring.late_labels import label_events, label_ledger_event
from continual_ml.defs.monitoring.served_traffic import served_performance_event
from continual_ml.defs.partitions import WAREHOUSE_POOL
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.ingestion.progress import IngestProgress
from continual_ml.warehouse.schema import apply_schema

FileKind = Literal["observations", "labels", "prediction_log"]
READERS = {
    "observations": ingestion.ingest_file,
    "labels": ingestion.ingest_labels,
    "prediction_log": ingestion.ingest_prediction_log,
}
# What the landing folder takes (any case): the names `ingestion.files` reads as CSV or Parquet.
LANDING_SUFFIXES = (".csv", ".parquet", ".pq")
KIND_TAG = "continual_ml/kind"
IN_FLIGHT_STATUSES = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
ARCHIVE_DIR = "ingested"  # beside the service's logs: the ones already in the warehouse


class IngestFileConfig(dg.Config):
    """The files to ingest, in order, and what they hold."""

    paths: list[str]
    kind: FileKind = "observations"
    # Again, on purpose, though the file's sha256 was seen (e.g. quarantined whole before the
    # config was fixed): observations replace the partitions the file covers.
    force: bool = False
    # Progress on stderr (`continual-ml ingest` asks for it on a terminal or for large files).
    progress: bool = False


def _read(conn, settings, path: Path, kind: str, force: bool, on_step=None):
    if not force:
        return READERS[kind](conn, settings, path, on_step=on_step)
    if kind == "observations":
        return ingestion.replace_partitions_from_file(conn, settings, path, on_step=on_step)
    if kind == "labels":
        return ingestion.ingest_labels(conn, settings, path, force=True, on_step=on_step)
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
        apply_schema(conn, settings)
        for path in map(_current_place, config.paths):
            if config.progress:
                with IngestProgress(conn, path.name) as progress:
                    report = _read(conn, settings, path, config.kind, config.force, progress.step)
            else:
                report = _read(conn, settings, path, config.kind, config.force)
            if report.status == "changing":  # nothing recorded: its next version is new
                context.log.warning(report.summary())
            else:
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
                    "waiting": report.waiting,
                    "for_quarantined_rows": report.for_quarantined_rows,
                    "reason": report.reason or "",
                }
            )
        if config.kind == "prediction_log":
            context.log_event(served_performance_event(conn, settings.regression))
        # Landed rows match waiting labels, quarantined ones orphan them: counted after each run.
        context.log_event(label_ledger_event(conn))
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
