"""The service's own routes, served ahead of BentoML's.

`/predict` scores one row from the body `RequestGuard` already checked (BentoML's API endpoint
would parse and validate it again, and cost more than scoring the row). It is a bare ASGI app
that `AnsweredHere`, the service's middleware right behind the guard, calls directly: BentoML's
metrics, tracing and timeout middlewares and the guard have run, but not the two Starlette
routers, error and exception layers and BentoML's request context between the middlewares and a
route, which cost more CPU than scoring the row (`benchmarks/serving.py`). `/model` says what is
served; `/score_file` scores a whole file; `/` and `/docs.json` describe these routes truthfully,
offline. Each route reaches the BentoML service instance through its app's state.
"""

from __future__ import annotations

from bentoml.exceptions import ServiceUnavailable
from pydantic_core import to_json
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from continual_ml.config import DatasetConfig
from continual_ml.serving.file_scoring import FileScorer, file_endpoint
from continual_ml.serving.follower import UnscorableRows
from continual_ml.serving.http_guard import VALIDATED, unscorable
from continual_ml.serving.openapi import DOCS_PAGE
from continual_ml.serving.prediction_log import UnloggedRecords
from continual_ml.serving.request_schema import answer_of


def describe_model(request: Request) -> JSONResponse:
    follower = request.app.state.service.follower
    current = follower.current
    body = current.describe() if current else {"model_version": None}
    return JSONResponse({**body, "swaps": follower.swaps, "last_swap_error": follower.last_error})


def predict_endpoint(app: Starlette):
    """`/predict` as a bare ASGI app; set `app.state.service` to the service instance."""

    async def predict(scope, receive, send) -> None:
        """Class probabilities and predicted class for one row."""
        # Inline: scoring one row takes microseconds, less than handing it to a thread pool.
        await _answer(app, scope, receive, send, [scope[VALIDATED].features], _one)

    return predict


def predict_batch_endpoint(app: Starlette):
    """`/predict_batch` as a bare ASGI app; set `app.state.service` to the service instance."""

    async def predict_batch(scope, receive, send) -> None:
        """Class probabilities and predicted class for many rows, all from one model."""
        # In a worker thread, as BentoML runs a synchronous API: thousands of rows take
        # milliseconds, which single rows waiting on the event loop would wait out.
        await _answer(app, scope, receive, send, scope[VALIDATED].rows, _batch, in_thread=True)

    return predict_batch


def _one(records: list[dict]) -> dict:
    [record] = records
    return answer_of(record)


def _batch(records: list[dict]) -> dict:
    predictions = [answer_of(r) for r in records]
    return {"model_version": records[0]["model_version"], "predictions": predictions}


async def _answer(app, scope, receive, send, rows: list, shape, in_thread: bool = False) -> None:
    """Score `rows` (checked by `RequestGuard`) and answer `shape(records)` as JSON."""
    score = app.state.service._scored_records
    try:
        records = await run_in_threadpool(score, rows) if in_thread else score(rows)
    except UnscorableRows as error:
        return await unscorable(str(error))(scope, receive, send)
    except ServiceUnavailable as error:  # the model went away meanwhile
        refusal = JSONResponse({"error": f"model: {error}", "detail": []}, 503)
        return await refusal(scope, receive, send)
    except UnloggedRecords as error:  # a full disk: the answer could not be logged
        message = f"{error.strerror}; refused rather than answered unlogged"
        refusal = JSONResponse({"error": message, "detail": []}, 503, {"retry-after": "5"})
        return await refusal(scope, receive, send)
    # Each answer is the part of its log record a `Prediction` has, serialized as one would be.
    body = to_json(shape(records))
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AnsweredHere:
    """A middleware answering each of `routes` (path -> ASGI app) itself, the rest passed on."""

    def __init__(self, app, routes: dict):
        self.app, self.routes = app, routes

    async def __call__(self, scope, receive, send):
        endpoint = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        return await (endpoint or self.app)(scope, receive, send)


def route_app(app: Starlette, path: str):
    """The ASGI app of `app`'s route at `path`, for `AnsweredHere` to call directly."""
    return next(route.app for route in app.routes if getattr(route, "path", None) == path)


def why_unavailable(app: Starlette) -> str | None:
    """Why no request can be scored now (a 503 naming it), or None while a model serves."""
    service = getattr(app.state, "service", None)
    if service is None:
        return None
    for log in (service.predictions_log, service.feedback_log):
        if log.failure:  # an answer that is not logged would be lost: none is given
            return f"{log.failure}; refused rather than answered unlogged"
    if service.follower.current is not None:
        return None
    error = service.follower.last_error
    why = f"no model loaded: {error}" if error else "no champion model has been promoted yet"
    return f"model: {why}"


def file_scorer(service, config: DatasetConfig, unknown_category: str) -> FileScorer | None:
    """A scorer of files with the model `service` serves now, logging and counting as it does."""
    model = service.follower.current
    if model is None:
        return None
    log, counts = service.predictions_log, service.prediction_counts
    return FileScorer(model, config, unknown_category, log=log, counts=counts)


def plain_routes(
    config: DatasetConfig, unknown_category: str, file_rows: int, document: dict
) -> Starlette:
    """The app to mount at `/`; set `app.state.service` to the service instance."""
    app = Starlette()
    app.router.routes.extend(
        [
            Route("/model", describe_model, methods=["GET"]),
            Route(
                "/score_file",
                file_endpoint(
                    config,
                    file_rows,
                    lambda: file_scorer(app.state.service, config, unknown_category),
                ),
                methods=["POST"],
            ),
            Route("/docs.json", lambda _: JSONResponse(document), methods=["GET"]),
            Route("/", lambda _: HTMLResponse(DOCS_PAGE), methods=["GET"]),
        ]
    )
    return app
