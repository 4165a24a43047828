"""Prometheus `endpoint` labels bounded to the service's own routes.

BentoML's traffic metrics label each request with its raw path, so every distinct 404 path adds
time series that live as long as the worker: a flood of random paths grows `/metrics` (and the
worker) without bound. BentoML offers no setting for this; its metrics middleware, the outermost
one, is replaced by a subclass that sees a known route as itself and anything else as `other`,
and `RestorePath`, the first of the service's own middlewares, gives routing the real path back.
"""

from __future__ import annotations

from continual_ml.serving.bentoml_internals import (
    replace_traffic_metrics_middleware,
    traffic_metrics_middleware,
)

OTHER = "other"
RAW_PATH = "continual_ml.raw_path"
# Routes whose paths are fixed; static files are labelled by their folder.
FIXED_ROUTES = frozenset(
    {"/", "/docs.json", "/schema.json", "/metrics", "/livez", "/healthz", "/readyz", "/model"}
)
STATIC_PREFIX = "/static_content/"


def endpoint_label(path: str, api_routes: frozenset[str]) -> str:
    if path in api_routes or path in FIXED_ROUTES:
        return path
    if path.startswith(STATIC_PREFIX):
        return STATIC_PREFIX.rstrip("/")
    return OTHER


def bound_endpoint_labels(api_routes: frozenset[str]) -> None:
    """Make BentoML's traffic metrics label by route; call before the server builds its app."""
    base = traffic_metrics_middleware()
    if getattr(base, "bounded_by_continual_ml", False):
        return

    class BoundedEndpointMetrics(base):
        bounded_by_continual_ml = True

        async def __call__(self, scope, receive, send):
            if scope["type"] in ("http", "websocket"):
                label = endpoint_label(scope["path"], api_routes)
                if label != scope["path"]:
                    scope = {**scope, "path": label, RAW_PATH: scope["path"]}
            return await super().__call__(scope, receive, send)

    replace_traffic_metrics_middleware(BoundedEndpointMetrics)


class RestorePath:
    """Undo the relabelling for everything inside the metrics middleware, routing included."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        raw = scope.get(RAW_PATH)
        if raw is not None:
            scope = {**scope, "path": raw}
        return await self.app(scope, receive, send)
