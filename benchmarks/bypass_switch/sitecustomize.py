"""Turns the service's BentoML bypasses off, for `benchmarks.bentoml_bypasses` only.

On `PYTHONPATH`, Python imports this in the server and each worker before anything else. Each
name in `CONTINUAL_ML_BYPASSES_OFF` marks BentoML's own class as if already replaced, so the
service's replacement is skipped and BentoML's code runs as shipped.
"""

import os

OFF = set(filter(None, os.environ.get("CONTINUAL_ML_BYPASSES_OFF", "").split(",")))

if OFF:
    from continual_ml.models import bentoml_internals

    if "metrics" in OFF:
        bentoml_internals.traffic_metrics_middleware().bounded_by_continual_ml = True
    if "timeout" in OFF:
        bentoml_internals.timeout_middleware().prompt_by_continual_ml = True
    if "bind" in OFF:
        bentoml_internals.bind_api_methods = lambda instance, service: None
