"""The BentoML service: predictions from the newest promoted champion, swapped in without restart.

It reads models only from the BentoML model store and never opens the DuckDB warehouse.
"""

import os

# One thread per prediction: many requests at once beat one request on many cores here.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import bentoml  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from continual_ml.config import default_config  # noqa: E402
from continual_ml.serving import ChampionFollower, predict_rows, row_schema  # noqa: E402

CONFIG = default_config()
FeatureRow = row_schema(CONFIG)
MAX_ROWS = int(os.environ.get("CONTINUAL_ML_MAX_ROWS", "10000"))


class Prediction(BaseModel):
    prediction_id: str
    predicted_class: int
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model_version: int
    predictions: list[Prediction]


def _store_dir() -> Path:
    return Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml")


@bentoml.service(name="continual_ml", traffic={"timeout": 30})
class ChampionClassifier:
    """Serves the current champion of the continual-ml loop."""

    def __init__(self) -> None:
        poll = float(os.environ.get("CONTINUAL_ML_MODEL_POLL_SECONDS", "1.0"))
        self.follower = ChampionFollower(_store_dir(), CONFIG, poll_seconds=poll)
        self.follower.refresh()
        self.follower.follow()

    def __is_ready__(self) -> bool:
        return self.follower.current is not None

    @bentoml.api
    def predict(self, rows: list[FeatureRow]) -> PredictResponse:  # type: ignore[valid-type]
        """Class probabilities and predicted class for one or many rows."""
        if not rows:
            raise bentoml.exceptions.InvalidArgument("rows: at least one row is required")
        if len(rows) > MAX_ROWS:
            raise bentoml.exceptions.InvalidArgument(f"rows: at most {MAX_ROWS} rows per request")
        model = self.follower.current  # one read: the whole request uses one model
        if model is None:
            raise bentoml.exceptions.ServiceUnavailable("no champion model has been promoted yet")
        outputs = predict_rows(model, CONFIG, [row.model_dump() for row in rows])
        return PredictResponse(
            model_version=model.version,
            predictions=[
                Prediction(
                    prediction_id=uuid.uuid4().hex,
                    predicted_class=o["predicted_class"],
                    probabilities=o["probabilities"],
                )
                for o in outputs
            ],
        )

    @bentoml.api(route="/model")
    def model(self) -> dict:
        """The serving model's version and hash, and the last failed swap if any."""
        current = self.follower.current
        return {
            "model_version": current.version if current else None,
            "sha256": current.sha256 if current else None,
            "tag": current.tag if current else None,
            "loaded_at": current.loaded_at if current else None,
            "swaps": self.follower.swaps,
            "last_swap_error": self.follower.last_error,
        }
