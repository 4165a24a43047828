"""Every use of BentoML internals, in one place, each where BentoML has no public API for it,
with what it buys, measured on this repository's 2-core machine.

- A model store at a given folder (`model_store`, `create_model`: the private `_model_store=`).
  `bentoml.models` works on the process-wide store fixed by `BENTOML_HOME` when bentoml is first
  imported, but promotion, tests and the demo each write to their own home in one process. The
  public way, a process per home, costs 0.8-0.9 s of CPU (2.6-3.2 s wall, loaded machine) to
  import `bentoml.models` each time (`/usr/bin/time python -c "import bentoml.models"`).
- The traffic-metrics middleware, replaced by a subclass (see `endpoint_labels`). BentoML labels
  its metrics by raw request path and has no setting to bound them: each random 404 path adds
  series for the worker's life. Its per-request metric updates also cost the most: without the
  subclass a `/predict` took 0.091 ms of server CPU against 0.073 ms (+25%), c=16, on a quiet
  machine (`python -m benchmarks.bentoml_bypasses --duration 12 --rounds 4`,
  results/bentoml_bypasses.json).
- The request-timeout middleware, replaced by a subclass (see `request_timeout`). BentoML's
  leaves a timer behind each request until the timeout runs out, and the timeout cannot be
  turned off: after 30,000 requests it leaves 30,000 live timers and 150,001 objects for the
  cyclic GC (ours: 1 and 7), a full GC pass takes 23 ms against 2.5 ms in a small process, and
  it costs 8.5 us of CPU a request against 1.6 us on a quiet machine
  (`python -m benchmarks.bentoml_bypass_costs`, results/bentoml_bypass_costs.json).
- API methods bound once per service instance (`bind_api_methods`). BentoML's API descriptor
  re-inspects the method's signature each time it is looked up, once a request: 8.9 us a lookup
  against 0.03 us bound, quiet (same command); end to end, `/predict_rows` took 0.260 ms of
  server CPU without it against 0.228 ms (+14%, quiet; results/bentoml_bypasses.json).

Dropped: a subclass of OpenTelemetry's ASGI middleware passing untraced paths on without
matching their URL saved at most 2.0 us of a ~73 us `/predict` (about 2.5%, quiet; same
command), too little for a replaced class: the scoring paths are excluded from tracing by the
service's public `tracing` configuration alone.

`continual_ml_tests/unit/serving/test_bentoml_internals.py` checks that each still behaves as
relied on, so a BentoML upgrade that moves them fails there, by name, rather than in serving.
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
