"""The service's own Prometheus series, beside BentoML's per-endpoint ones.

Predictions by class and model version (noted per request, written in batches), the version
being served, model swaps by outcome, and the free space left for the prediction logs.
"""

from __future__ import annotations

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
