"""Preparing the embedded default: one folder holding the warehouse, MLflow, BentoML and Dagster."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from continual_ml.config import MLFLOW_EXPERIMENT, Paths
from continual_ml.decisions.queue_aging import (
    LANE_RUNS,
    LANE_TAG,
    MAX_CONCURRENT_RUNS,
    WAREHOUSE_RUN_BUFFER,
)

WRITTEN_BY = "# Written by continual-ml, which updates it; remove this line to keep your edits."
# The local Dagster instance keeps the single-writer rule with its pool: every step that opens
# DuckDB is in pool `duckdb_warehouse`, whose one slot is claimed per step ("op" granularity), so
# no two processes ever open the file at once. A run may be in progress in each lane (landed
# days; prediction logs; late labels and retrains; reports), so no kind of work waits behind
# another for a run slot, and the next run loads its code (seconds) while another holds the
# warehouse, instead of after it (the run buffer below).
LANE_LIMITS = "".join(
    f'      - key: "{LANE_TAG}"\n        value: "{lane}"\n        limit: {runs}\n'
    for lane, runs in LANE_RUNS.items()
)
LOCAL_DAGSTER_YAML = f"""\
{WRITTEN_BY}
concurrency:
  runs:
    max_concurrent_runs: {MAX_CONCURRENT_RUNS}
    tag_concurrency_limits:
{LANE_LIMITS}  pools:
    default_limit: 1
    granularity: op
    # Without this, the queue holds back every run whose first step needs the busy warehouse:
    # runs would load their code only after the one ahead of them let go of it.
    op_granularity_run_buffer: {WAREHOUSE_RUN_BUFFER}
run_queue:
  # The loop waits on the queue between its runs: look at it every second, not every five.
  dequeue_interval_seconds: 1
  # A code server that is down (and being restarted by `up`) leaves runs queued, not failed:
  # retried every 15 s for 10 minutes, past the supervisor's longest backoff.
  max_user_code_failure_retries: 40
  user_code_failure_retry_delay: 15
# A run whose worker crashed or was killed runs again, twice at most; one whose step failed (a
# partition that failed validation, a broken candidate) would only fail again and alert twice.
# A candidate the gate refuses fails no step: its run succeeds with a warning.
run_retries:
  enabled: true
  max_retries: 2
  retry_on_asset_or_op_failure: false
# Notices a run worker that died (so the retry above happens) and a run that never started.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  poll_interval_seconds: 20
  # A step whose process died never reports its end: its pool slot is freed 10 s after its run
  # ended, or the retry and every later warehouse step would wait for it for good.
  free_slots_after_run_end_seconds: 10
# Each sensor ticks in its own thread: the landing sensor's ticks keep their pace when another
# sensor is slow to answer.
sensors:
  use_threads: true
  num_workers: 4
telemetry:
  enabled: false
"""
# Earlier versions wrote this file without the header: replaced too, as no one edited it. Known
# by its digest, since only the exact file they wrote may be replaced.
EARLIER_LOCAL_DAGSTER_YAML_SHA256 = (
    "4890987c798de6a59ad5665450da6b78da6aaf570d5ab2d9cb1b44a247fee480"
)
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"


def _earlier(written: str) -> bool:
    return hashlib.sha256(written.encode()).hexdigest() == EARLIER_LOCAL_DAGSTER_YAML_SHA256


def prepare(paths: Paths, with_mlflow: bool = True) -> Paths:
    """Create the folders, point every tool's environment at them and set up MLflow (which
    `status` does without: on a full disk MLflow's store cannot even be opened)."""
    for folder in (
        paths.home,
        paths.reports,
        paths.mlflow_artifacts,
        paths.bentoml_home,
        paths.dagster_home,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    instance_yaml = paths.dagster_home / "dagster.yaml"
    written = instance_yaml.read_text() if instance_yaml.exists() else None
    ours = written is None or _earlier(written) or written.startswith(WRITTEN_BY)
    # Only when it changes: rewritten on a full disk, it would be left empty.
    if ours and written != LOCAL_DAGSTER_YAML:
        instance_yaml.write_text(LOCAL_DAGSTER_YAML)
    os.environ["CONTINUAL_ML_HOME"] = str(paths.home)
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    os.environ["BENTOML_HOME"] = str(paths.bentoml_home)
    os.environ["MLFLOW_TRACKING_URI"] = paths.mlflow_tracking_uri
    # No phoning home from an offline-first tool.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if with_mlflow:
        ensure_mlflow_experiment(paths.mlflow_tracking_uri, paths.mlflow_artifacts)
    return paths


def ensure_mlflow_experiment(tracking_uri: str, artifacts: Path) -> str:
    """Create the experiment with its artifacts beside the store, not in the working directory."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(MLFLOW_EXPERIMENT)
    if experiment is None:
        experiment_id = client.create_experiment(
            MLFLOW_EXPERIMENT, artifact_location=artifacts.as_uri()
        )
    else:
        experiment_id = experiment.experiment_id
        if experiment.tags.get(EXPERIMENT_KIND_TAG) == EXPERIMENT_KIND:
            return experiment_id
    # The kind MLflow's header shows, and the view MLflow 3 UIs before 3.17 open it on; 3.17
    # picks the view from the visitor's workflow type instead (our links name it).
    client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    return experiment_id
