"""The BentoML service: predictions from the newest promoted champion, swapped in without restart.

It reads models only from the BentoML model store, logs predictions and feedback to rotating
JSONL files, and never opens the DuckDB warehouse.
"""

import os

# One thread per prediction: many requests at once beat one request on many cores here, and
# OpenMP's thread pools showed second-long tails for single rows.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from collections import Counter  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Literal  # noqa: E402

import bentoml  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from continual_ml.config import Paths, default_config  # noqa: E402
from continual_ml.http_guard import RequestGuard  # noqa: E402
from continual_ml.prediction_log import RotatingJsonlWriter  # noqa: E402
from continual_ml.serving import ChampionFollower, predict_rows, row_schema  # noqa: E402

CONFIG = default_config()
UNKNOWN_CATEGORY = os.environ.get("CONTINUAL_ML_UNKNOWN_CATEGORY", "reject")
FeatureRow = row_schema(CONFIG, UNKNOWN_CATEGORY)
MAX_ROWS = int(os.environ.get("CONTINUAL_ML_MAX_ROWS", "10000"))
LOG_DIR = Path(
    os.environ.get("CONTINUAL_ML_PREDICTION_LOG_DIR") or Paths.from_env().prediction_logs
)
Label = Literal[tuple(CONFIG.classes)]  # type: ignore[valid-type]

PREDICTIONS = bentoml.metrics.Counter(
    name="continual_ml_predictions",
    documentation="Rows predicted, by class and model version",
    labelnames=["predicted_class", "model_version"],
)
SERVING_VERSION = bentoml.metrics.Gauge(
    name="continual_ml_serving_model_version", documentation="Version of the model being served"
)
SWAPS = bentoml.metrics.Counter(
    name="continual_ml_model_swaps",
    documentation="Model swaps attempted, by outcome",
    labelnames=["outcome"],
)
STATE: dict = {}  # the service instance, for the plain Starlette routes


class Prediction(BaseModel):
    prediction_id: str
    model_version: int
    predicted_class: int
    probabilities: dict[str, float]


class BatchResponse(BaseModel):
    model_version: int
    predictions: list[Prediction]


class FeedbackItem(BaseModel):
    prediction_id: str = Field(min_length=1, max_length=64)
    label: Label  # type: ignore[valid-type]


def describe_model(_request) -> JSONResponse:
    follower = STATE["service"].follower
    current = follower.current
    body = current.describe() if current else {"model_version": None}
    return JSONResponse({**body, "swaps": follower.swaps, "last_swap_error": follower.last_error})


info_app = Starlette(routes=[Route("/model", describe_model, methods=["GET"])])


@bentoml.service(name="continual_ml", traffic={"timeout": 30})
@bentoml.asgi_app(info_app, path="/")
class ChampionClassifier:
    """Serves the current champion of the continual-ml loop."""

    def __init__(self) -> None:
        STATE["service"] = self
        poll = float(os.environ.get("CONTINUAL_ML_MODEL_POLL_SECONDS", "1.0"))
        self.predictions_log = RotatingJsonlWriter(LOG_DIR, "predictions")
        self.feedback_log = RotatingJsonlWriter(LOG_DIR, "feedback")
        self.follower = ChampionFollower(
            Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml"),
            CONFIG,
            poll_seconds=poll,
            on_swap=self._swapped,
            on_failure=self._swap_failed,
        )
        self.follower.refresh()
        self.follower.follow(also_each_poll=self._rotate_logs)

    def __is_ready__(self) -> bool:
        return self.follower.current is not None

    @bentoml.api
    async def predict(self, features: FeatureRow) -> Prediction:  # type: ignore[valid-type]
        """Class probabilities and predicted class for one row."""
        # async: one row is ~1 ms of CPU, cheaper to run here than to hand to a thread pool.
        return self._predict([features]).predictions[0]

    @bentoml.api
    def predict_batch(self, rows: list[FeatureRow]) -> BatchResponse:  # type: ignore[valid-type]
        """Class probabilities and predicted class for many rows, all from one model."""
        if not rows:
            raise bentoml.exceptions.InvalidArgument("rows: at least one row is required")
        if len(rows) > MAX_ROWS:
            raise bentoml.exceptions.InvalidArgument(f"rows: at most {MAX_ROWS} rows per request")
        return self._predict(rows)

    @bentoml.api
    def feedback(self, items: list[FeedbackItem]) -> dict:
        """Record the true label of earlier predictions, by prediction id."""
        if not items:
            raise bentoml.exceptions.InvalidArgument("items: at least one label is required")
        received = datetime.now(UTC).isoformat()
        self.feedback_log.write(
            [
                {
                    "kind": "feedback",
                    "prediction_id": i.prediction_id,
                    "label": i.label,
                    "received_at": received,
                }
                for i in items
            ]
        )
        return {"accepted": len(items)}

    def _predict(self, rows: list) -> BatchResponse:
        model = self.follower.current  # one read: the whole request uses one model
        if model is None:
            raise bentoml.exceptions.ServiceUnavailable("no champion model has been promoted yet")
        features = [row.model_dump() for row in rows]
        outputs = predict_rows(model, CONFIG, features)
        served_at = datetime.now(UTC).isoformat()
        predictions, records = [], []
        for row, output in zip(features, outputs, strict=True):
            prediction = Prediction(
                prediction_id=os.urandom(16).hex(),
                model_version=model.version,
                predicted_class=output["predicted_class"],
                probabilities=output["probabilities"],
            )
            predictions.append(prediction)
            records.append(
                {
                    "kind": "prediction",
                    **prediction.model_dump(),
                    "served_at": served_at,
                    "latency_ms": output["latency_ms"],
                    "features": row,
                }
            )
        for predicted_class, count in Counter(p.predicted_class for p in predictions).items():
            PREDICTIONS.labels(
                predicted_class=str(predicted_class), model_version=str(model.version)
            ).inc(count)
        self.predictions_log.write(records)
        return BatchResponse(model_version=model.version, predictions=predictions)

    def _swapped(self, model) -> None:
        SERVING_VERSION.set(model.version)
        SWAPS.labels(outcome="swapped").inc()

    def _swap_failed(self, tag: str, error: str) -> None:
        SWAPS.labels(outcome="failed").inc()

    def _rotate_logs(self) -> None:
        self.predictions_log.rotate_if_old()
        self.feedback_log.rotate_if_old()


ChampionClassifier.add_asgi_middleware(
    RequestGuard,
    protected=frozenset({"/predict", "/predict_batch", "/feedback"}),
    token=os.environ.get("CONTINUAL_ML_API_TOKEN") or None,
    max_body_bytes=int(os.environ.get("CONTINUAL_ML_MAX_BODY_BYTES", str(8 * 1024 * 1024))),
)
