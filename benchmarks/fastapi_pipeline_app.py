"""The plain way to serve the model: FastAPI calling the scikit-learn pipeline per request.

What a team writes first: a pydantic body, `pipeline.predict_proba` on a one-row DataFrame,
the answer in the service's shape. No fast scoring path, no prediction log. One uvicorn worker.

    python -m benchmarks.fastapi_pipeline_app --artifact model.skops --sha256 HEX --port 8002
"""

# No `from __future__ import annotations`: FastAPI must see the local body models, not names.

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import create_model  # noqa: E402

from continual_ml.config import default_config  # noqa: E402
from continual_ml.serving.request_schema import BatchResponse, Prediction, row_schema  # noqa: E402
from continual_ml.training.pipeline import load_model  # noqa: E402


def build_app(artifact: bytes, sha256: str, version: int) -> FastAPI:
    config = default_config()
    pipeline = load_model(artifact, sha256)
    classes = [str(c) for c in pipeline.classes_]
    feature_row = row_schema(config)
    single = create_model("PredictInput", features=(feature_row, ...))
    batch = create_model("PredictBatchInput", rows=(list[feature_row], ...))
    app = FastAPI()

    def answer(rows: list) -> list[Prediction]:
        frame = pd.DataFrame([r.model_dump() for r in rows], columns=config.feature_names)
        return [
            Prediction(
                prediction_id=os.urandom(16).hex(),
                model_version=version,
                predicted_class=int(pipeline.classes_[p.argmax()]),
                probabilities=dict(zip(classes, map(float, p), strict=True)),
            )
            for p in pipeline.predict_proba(frame)
        ]

    # sync handlers: FastAPI runs them in its thread pool, as a plain app would
    @app.post("/predict")
    def predict(body: single) -> Prediction:  # type: ignore[valid-type]
        return answer([body.features])[0]

    @app.post("/predict_batch")
    def predict_batch(body: batch) -> BatchResponse:  # type: ignore[valid-type]
        return BatchResponse(model_version=version, predictions=answer(body.rows))

    @app.get("/readyz")
    def ready() -> str:
        return "ok"

    return app


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", type=Path, required=True)
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--threadpool", action="store_true", help="ignored: always a thread pool")
    arguments = parser.parse_args(argv)
    app = build_app(arguments.artifact.read_bytes(), arguments.sha256, arguments.version)
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
