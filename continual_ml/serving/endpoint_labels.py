"""Prometheus `endpoint` labels bounded to the service's own routes.

BentoML's traffic metrics label each request with its raw path, so every distinct 404 path adds
time series that live as long as the worker: a flood of random paths grows `/metrics` (and the
worker) without bound. BentoML offers no setting for this; its metrics middleware, the outermost
one, is replaced by a subclass that sees a known route as itself and anything else as `other`,
and `RestorePath`, the first of the service's own middlewares, gives routing the real path back.

For HTTP requests the subclass records BentoML's own series (request total and duration by
endpoint and status, requests in progress, last request time) itself, with each label
combination's child looked up once (BentoML's middleware looks up four children per request by
their label values), requests in progress and the last request's time kept in plain numbers,
and every update batched (`metric_batches`, written before each scrape): written one by one,
they cost a fifth of the CPU of a `/predict`. Websockets and `/metrics` go through BentoML's code
unchanged.
"""

from __future__ import annotations

import time
from timeit import default_timer

from continual_ml.models.bentoml_internals import (
    replace_traffic_metrics_middleware,
    server_context,
    traffic_metrics_middleware,
)
from continual_ml.serving.metric_batches import BATCHES

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

        def __init__(self, app, **options):
            super().__init__(app, **options)
            self._in_flight: dict[str, int] = {}  # requests being answered, by endpoint
            self._skipped: dict[str, bool] = {}  # by endpoint: not a request for `last_request`
            self._last_request: float | None = None  # when the latest one not skipped came
            self._outcomes: dict[tuple[str, int], tuple] = {}  # by endpoint and status

        async def __call__(self, scope, receive, send):
            if not self._is_setup:
                self._setup()  # at the lifespan's start, as BentoML's own does
            if scope["type"] not in ("http", "websocket"):
                return await self.app(scope, receive, send)
            label = endpoint_label(scope["path"], api_routes)
            if label != scope["path"]:
                scope = {**scope, "path": label, RAW_PATH: scope["path"]}
            if label == "/metrics":
                BATCHES.flush()  # what this worker noted so far, in this scrape
            if scope["type"] != "http" or label == "/metrics":
                return await super().__call__(scope, receive, send)
            skipped = self._skipped.get(label)
            if skipped is None:
                skipped = self._track(label)
            if not skipped:
                if self._last_request is None:
                    self._track_last_request()
                self._last_request = time.time()
            started, status = default_timer(), 0

            async def send_counted(message) -> None:
                nonlocal status
                kind = message["type"]
                if kind == "http.response.start":
                    status = message["status"]
                elif kind == "http.response.body" and not message.get("more_body", False):
                    total, duration = self._outcomes.get((label, status)) or self._outcome(
                        label, status
                    )
                    BATCHES.observe(duration, max(default_timer() - started, 0), counter=total)
                await send(message)

            in_flight = self._in_flight
            in_flight[label] += 1
            try:
                await self.app(scope, receive, send_counted)
            finally:
                in_flight[label] -= 1

        def _names(self) -> dict:
            context = server_context()
            return {
                "service_name": context.bento_name,
                "service_version": context.bento_version,
                "runner_name": context.service_name,
            }

        def _track(self, label: str) -> bool:
            """Count `label`'s requests in flight, with the gauges read at each flush; whether
            the label is skipped by the last-request time, as BentoML's middleware skips it."""
            names = self._names()
            self._in_flight[label] = 0
            in_progress = self.metrics_request_in_progress.labels(endpoint=label, **names)
            BATCHES.level(in_progress, lambda: self._in_flight[label])
            self._skipped[label] = label.startswith(tuple(self.skip_paths))
            return self._skipped[label]

        def _track_last_request(self) -> None:
            """At the first request not skipped: BentoML's series exists from then on."""
            last_request = self.metrics_last_request_timestamp.labels(**self._names())
            BATCHES.level(last_request, lambda: self._last_request)

        def _outcome(self, label: str, status: int) -> tuple:
            labels = {"endpoint": label, **self._names(), "http_response_code": status}
            outcome = (
                self.metrics_request_total.labels(**labels),
                self.metrics_request_duration.labels(**labels),
            )
            self._outcomes[label, status] = outcome
            return outcome

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
