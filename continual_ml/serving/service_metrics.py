"""The service's own Prometheus series, beside BentoML's per-endpoint ones.

Predictions by class and model version (noted per request, written in batches), the version
being served, model swaps by outcome, the free space left for the prediction logs, and the
loop's monitoring lag and run queue as last recorded in the home.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

# Directly, as BentoML asks (`bentoml.metrics` is deprecated): a worker imports this after
# `bentoml serve` has set PROMETHEUS_MULTIPROC_DIR, so the values go where `/metrics` reads them.
import prometheus_client

from continual_ml.serving.metric_batches import BATCHES

PREDICTIONS = prometheus_client.Counter(
    name="continual_ml_predictions",
    documentation="Rows predicted, by class and model version",
    labelnames=["predicted_class", "model_version"],
)
SERVING_VERSION = prometheus_client.Gauge(
    name="continual_ml_serving_model_version", documentation="Version of the model being served"
)
# Set by the prediction log's rotation (each model poll); every worker sees the same disk.
LOG_DISK_FREE = prometheus_client.Gauge(
    name="continual_ml_prediction_log_disk_free_bytes",
    documentation="Free bytes on the disk holding the prediction logs",
    multiprocess_mode="livemin",
)
SWAPS = prometheus_client.Counter(
    name="continual_ml_model_swaps",
    documentation="Model swaps attempted, by outcome",
    labelnames=["outcome"],
)


class PredictionCounts:
    """Counts predictions by class and version, each counter child looked up only once."""

    def __init__(self) -> None:
        self._children: dict[tuple[int | str, int], object] = {}

    def add(self, class_counts: dict[int | str, int], version: int) -> None:
        for predicted_class, count in class_counts.items():
            key = (predicted_class, version)
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = PREDICTIONS.labels(
                    predicted_class=str(predicted_class), model_version=str(version)
                )
            BATCHES.add(child, count)


def swapped(model) -> None:
    """A new model is being served."""
    SERVING_VERSION.set(model.version)
    SWAPS.labels(outcome="swapped").inc()


def swap_failed(tag: str, error: str) -> None:
    """A promoted model was refused (it failed verification); the old one serves on."""
    SWAPS.labels(outcome="failed").inc()


# The loop's lag as `loop_lag_sensor` last recorded it in the home (absent on a replica with no
# access to the home: then these series are not set). Every worker reads the same file.
LOOP_LAG_GAUGES = {
    ("lag", "days"): prometheus_client.Gauge(
        name="continual_ml_monitoring_lag_days",
        documentation="Landed days beyond the newest day with a drift or performance measurement",
        multiprocess_mode="livemax",
    ),
    ("queue", "n_queued"): prometheus_client.Gauge(
        name="continual_ml_queued_runs",
        documentation="Dagster runs waiting in the queue",
        multiprocess_mode="livemax",
    ),
    ("queue", "oldest_wait_seconds"): prometheus_client.Gauge(
        name="continual_ml_oldest_queued_run_seconds",
        documentation="How long the oldest queued run has waited (0 with none queued)",
        multiprocess_mode="livemax",
    ),
}
LOOP_LAG_READ_AT = prometheus_client.Gauge(
    name="continual_ml_loop_lag_read_timestamp_seconds",
    documentation="When the loop's lag was last read (a stale value: the sensor is not ticking)",
    multiprocess_mode="livemax",
)


def publish_loop_lag(record_path: Path) -> None:
    """Set the loop's lag gauges from its record; nothing when there is none (yet)."""
    try:
        record = json.loads(record_path.read_text())
        LOOP_LAG_READ_AT.set(datetime.fromisoformat(record["at"]).timestamp())
    except (OSError, ValueError, KeyError):
        return
    for (part, name), gauge in LOOP_LAG_GAUGES.items():
        value = (record.get(part) or {}).get(name)
        if isinstance(value, int | float):
            gauge.set(value)
