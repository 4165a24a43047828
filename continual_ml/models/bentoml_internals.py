"""Every use of BentoML internals, in one place, each where BentoML has no public API for it.

- The model store at a given folder: `bentoml.models` works on the process-wide store fixed by
  `BENTOML_HOME` when bentoml is first imported, but promotion, tests and the demo each write to
  their own home in one process.

- The traffic-metrics middleware: BentoML labels its metrics by raw request path and has no
  setting to bound them (see `endpoint_labels`).
- The request-timeout middleware: BentoML's leaves a timer behind each request until the timeout
  runs out (see `request_timeout`), and the timeout cannot be turned off.
- The tracing middleware BentoML builds from OpenTelemetry's ASGI module at start-up: it builds
  the full URL of every request and matches it against the untraced ones (see `untraced_paths`).
- API methods bound once per service instance: BentoML's API descriptor re-inspects the
  method's signature on every request (about a tenth of a request's CPU).

`test_bentoml_internals.py` checks that each still behaves as relied on, so a BentoML upgrade
that moves them fails there, by name, rather than somewhere in serving.
"""

from __future__ import annotations

from pathlib import Path


def traffic_metrics_middleware() -> type:
    """The class of BentoML's outermost middleware, which records the per-endpoint metrics."""
    from bentoml._internal.server.http import instruments

    return instruments.RunnerTrafficMetricsMiddleware


def server_context():
    """BentoML's per-process server context: the bento and service names metrics are labelled
    with, set by the worker before it builds its app."""
    from bentoml._internal.context import server_context as context

    return context


def replace_traffic_metrics_middleware(replacement: type) -> None:
    """Make the server build its metrics middleware from `replacement` (a subclass)."""
    from bentoml._internal.server.http import instruments

    instruments.RunnerTrafficMetricsMiddleware = replacement


def timeout_middleware() -> type:
    """The class of BentoML's middleware that answers 504 when no response starts in time."""
    from bentoml._internal.server.http import traffic

    return traffic.TimeoutMiddleware


def replace_timeout_middleware(replacement: type) -> None:
    """Make the server build its timeout middleware from `replacement` (a subclass)."""
    from bentoml._internal.server.http import traffic

    traffic.TimeoutMiddleware = replacement


def tracing_middleware() -> type:
    """The class BentoML's app factory imports for its tracing middleware when it builds the app."""
    from opentelemetry.instrumentation import asgi

    return asgi.OpenTelemetryMiddleware


def replace_tracing_middleware(replacement: type) -> None:
    """Make the server build its tracing middleware from `replacement` (a subclass)."""
    from opentelemetry.instrumentation import asgi

    asgi.OpenTelemetryMiddleware = replacement


def bind_api_methods(instance, service) -> None:
    """Bind each API method of `service` (the `@bentoml.service` object) once, onto `instance`.

    BentoML finds an API's method through a descriptor that re-inspects its signature on every
    request (~50 us, a tenth of a request's CPU). Bound once and kept on the instance, where
    attribute lookup finds them first, they are the same callables.
    """
    for name in service.apis:
        instance.__dict__[name] = getattr(instance, name)


def model_store(bentoml_home: Path):
    """BentoML's model store under `bentoml_home` (its `models` folder)."""
    from bentoml._internal.models import ModelStore  # heavy import, only where it is used

    return ModelStore(Path(bentoml_home) / "models")


def create_model(bentoml_home: Path, tag: str, labels: dict, metadata: dict):
    """`bentoml.models.create` into the store under `bentoml_home` rather than the default one."""
    import bentoml

    return bentoml.models.create(
        tag, labels=labels, metadata=metadata, _model_store=model_store(bentoml_home)
    )
