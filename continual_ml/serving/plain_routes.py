"""The service's plain Starlette routes, served ahead of BentoML's own.

`/predict` scores one row from the body `RequestGuard` already checked (BentoML's API endpoint
would parse and validate it again, and cost more than scoring the row); `/model` says what is
served; `/score_file` scores a whole file; `/` and `/docs.json` describe these routes truthfully,
offline. Each route reaches the BentoML service instance through its app's state.
"""

from __future__ import annotations

from bentoml.exceptions import ServiceUnavailable
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from continual_ml.config import DatasetConfig
from continual_ml.serving.file_scoring import file_endpoint
from continual_ml.serving.follower import UnscorableRows
from continual_ml.serving.http_guard import VALIDATED, unscorable
from continual_ml.serving.openapi import DOCS_PAGE


def describe_model(request: Request) -> JSONResponse:
    follower = request.app.state.service.follower
    current = follower.current
    body = current.describe() if current else {"model_version": None}
    return JSONResponse({**body, "swaps": follower.swaps, "last_swap_error": follower.last_error})


async def predict(request: Request) -> Response:
    """Class probabilities and predicted class for one row."""
    # async: scoring one row takes microseconds, less than handing it to a thread pool.
    features = request.scope[VALIDATED].features  # `RequestGuard` checks every `/predict` body
    try:
        prediction = request.app.state.service._score([features])[0]
    except UnscorableRows as error:
        return unscorable(str(error))
    except ServiceUnavailable as error:  # the model went away meanwhile
        return JSONResponse({"error": f"model: {error}", "detail": []}, 503)
    return Response(prediction.model_dump_json(), media_type="application/json")


def why_unavailable(app: Starlette) -> str | None:
    """Why no request can be scored now (a 503 naming it), or None while a model serves."""
    service = getattr(app.state, "service", None)
    if service is None or service.follower.current is not None:
        return None
    error = service.follower.last_error
    return f"no model loaded: {error}" if error else "no champion model has been promoted yet"


def plain_routes(config: DatasetConfig, row_model, file_rows: int, document: dict) -> Starlette:
    """The app to mount at `/`; set `app.state.service` to the service instance."""
    app = Starlette()
    app.router.routes.extend(
        [
            Route("/predict", predict, methods=["POST"]),
            Route("/model", describe_model, methods=["GET"]),
            Route(
                "/score_file",
                file_endpoint(config, row_model, file_rows, lambda: app.state.service._score),
                methods=["POST"],
            ),
            Route("/docs.json", lambda _: JSONResponse(document), methods=["GET"]),
            Route("/", lambda _: HTMLResponse(DOCS_PAGE), methods=["GET"]),
        ]
    )
    return app
