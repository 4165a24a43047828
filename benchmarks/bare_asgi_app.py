"""The served model behind a bare Starlette app on uvicorn: the ceiling of Python HTTP serving.

It loads the same skops bytes with `load_model`, validates requests with the same `row_schema`,
predicts with the same `predict_rows` and answers in the same shape as `bento/service.py`, so
what it lacks is BentoML's HTTP stack, the service's request guard, and its per-prediction work
(the JSONL prediction log and the Prometheus counter). One uvicorn worker, like `bentoml serve`.

    python -m benchmarks.bare_asgi_app --artifact model.skops --sha256 HEX --version 1 --port 8001
"""

from __future__ import annotations

import os

# The service pins these before numpy loads; so does the ceiling it is compared with.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
from pydantic import BaseModel, ValidationError, create_model  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from continual_ml.app.supervision.service_process import REPO_ROOT, free_port  # noqa: E402
from continual_ml.config import DatasetConfig, default_config  # noqa: E402
from continual_ml.serving.follower import ServedModel, predict_rows, probe_rows  # noqa: E402
from continual_ml.serving.linear_scorer import linear_scorer  # noqa: E402
from continual_ml.serving.request_schema import BatchResponse, Prediction, row_schema  # noqa: E402
from continual_ml.training.pipeline import load_model  # noqa: E402

MAX_ROWS = 10_000


def build_app(model: ServedModel, config: DatasetConfig, threadpool: bool = False) -> Starlette:
    """`/predict`, `/predict_batch`, `/model` and `/readyz` for one fixed model.

    With `threadpool`, predictions run in a worker thread as BentoML runs a sync API; without,
    inline on the event loop, which is cheaper for sub-millisecond predictions.
    """
    feature_row = row_schema(config)
    single_request = create_model("PredictInput", features=(feature_row, ...))
    batch_request = create_model("PredictBatchInput", rows=(list[feature_row], ...))

    def answer(rows: list) -> BatchResponse:
        features = [row.model_dump() for row in rows]
        outputs = predict_rows(model, config, features)
        # built as the service builds them, without validating its own values again
        return BatchResponse.model_construct(
            model_version=model.version,
            predictions=[
                Prediction.model_construct(
                    prediction_id=os.urandom(16).hex(),
                    model_version=model.version,
                    predicted_class=output["predicted_class"],
                    probabilities=output["probabilities"],
                )
                for output in outputs
            ],
        )

    async def answer_off_or_on_loop(rows: list) -> BatchResponse:
        return await run_in_threadpool(answer, rows) if threadpool else answer(rows)

    async def predict(request: Request) -> Response:
        try:
            payload = single_request.model_validate_json(await request.body())
        except ValidationError as error:
            return invalid(error)
        answered = await answer_off_or_on_loop([payload.features])
        return json_response(answered.predictions[0])

    async def predict_batch(request: Request) -> Response:
        try:
            payload = batch_request.model_validate_json(await request.body())
        except ValidationError as error:
            return invalid(error)
        if not payload.rows or len(payload.rows) > MAX_ROWS:
            return JSONResponse({"error": f"rows: between 1 and {MAX_ROWS} rows"}, 400)
        return json_response(await answer_off_or_on_loop(payload.rows))

    def describe(_request: Request) -> JSONResponse:
        return JSONResponse(model.describe())

    def ready(_request: Request) -> Response:
        return Response("ok")

    return Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/predict_batch", predict_batch, methods=["POST"]),
            Route("/model", describe, methods=["GET"]),
            Route("/readyz", ready, methods=["GET"]),
        ]
    )


def json_response(body: BaseModel) -> Response:
    return Response(body.model_dump_json(), media_type="application/json")


def invalid(error: ValidationError) -> Response:
    return Response(error.json(include_url=False), 400, media_type="application/json")


def served_model(artifact: bytes, sha256: str, version: int) -> ServedModel:
    pipeline = load_model(artifact, sha256)
    return ServedModel(
        version=version,
        sha256=sha256,
        tag=f"bare:v{version}",
        pipeline=pipeline,
        loaded_at=datetime.now(UTC).isoformat(),
        manifest={"version": version, "sha256": sha256},
        # The same scoring path as the service, so only the HTTP stacks differ.
        fast=linear_scorer(pipeline, default_config(), probe_rows(default_config())),
    )


class BareAppProcess:
    """The bare app in a child process on a free loopback port; a context manager."""

    def __init__(
        self,
        artifact_path: Path,
        version: int,
        log_path: Path,
        threadpool: bool = False,
        port: int | None = None,
        module: str = "benchmarks.bare_asgi_app",
    ) -> None:
        self.artifact_path, self.version, self.log_path = Path(artifact_path), version, log_path
        self.module = module  # or another app taking the same arguments
        self.threadpool = threadpool
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_seconds: float = 60.0) -> BareAppProcess:
        sha256 = hashlib.sha256(self.artifact_path.read_bytes()).hexdigest()
        command = [
            sys.executable,
            "-m",
            self.module,
            "--artifact",
            str(self.artifact_path),
            "--sha256",
            sha256,
            "--version",
            str(self.version),
            "--port",
            str(self.port),
            *(["--threadpool"] if self.threadpool else []),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=self._log, stderr=self._log
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bare app exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"bare app not ready after {timeout_seconds}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self._log.close()

    def __enter__(self) -> BareAppProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", type=Path, required=True, help="the model's skops file")
    parser.add_argument("--sha256", required=True, help="the hash the artifact must have")
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--threadpool", action="store_true", help="predict in worker threads")
    arguments = parser.parse_args(argv)
    model = served_model(arguments.artifact.read_bytes(), arguments.sha256, arguments.version)
    app = build_app(model, default_config(), threadpool=arguments.threadpool)
    gc.freeze()  # as the service does once loaded: full collections skip the startup heap
    # uvicorn's defaults otherwise (uvloop and httptools when installed), as `bentoml serve` uses
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
