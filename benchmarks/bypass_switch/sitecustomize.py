"""Turns the service's BentoML bypasses off, for `benchmarks.bentoml_bypasses` only.

On `PYTHONPATH`, Python imports this in the server and each worker before anything else. Each
name in `CONTINUAL_ML_BYPASSES_OFF` marks BentoML's own class as if already replaced, so the
service's replacement is skipped and BentoML's code runs as shipped.
"""

import os

OFF = set(filter(None, os.environ.get("CONTINUAL_ML_BYPASSES_OFF", "").split(",")))

if "metrics" in OFF:
    from bentoml._internal.server.http import instruments

    instruments.RunnerTrafficMetricsMiddleware.bounded_by_continual_ml = True
if "timeout" in OFF:
    from bentoml._internal.server.http import traffic

    traffic.TimeoutMiddleware.prompt_by_continual_ml = True
if "tracing" in OFF:
    from opentelemetry.instrumentation import asgi

    asgi.OpenTelemetryMiddleware.untraced_by_continual_ml = frozenset()
if "bind" in OFF:
    from continual_ml.serving import bentoml_internals

    bentoml_internals.bind_api_methods = lambda instance, service: None
