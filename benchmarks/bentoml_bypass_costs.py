"""What each BentoML bypass saves per request, measured in one process without a server.

End to end (`benchmarks.bentoml_bypasses`) a few microseconds drown in a loaded machine's noise;
here each piece runs alone, many times:

- the request timeout: BentoML's `TimeoutMiddleware` against the service's `PromptTimeout`,
  CPU per request, timers and GC-tracked objects left alive, and one full GC pass afterwards
  (in a process holding little else: a server's larger heap makes each pass longer);
- tracing: OpenTelemetry's ASGI middleware, as BentoML builds it, on a path excluded from
  tracing, against no middleware (what skipping it at once would save at most);
- API methods: BentoML's descriptor lookup, once a request, against a method bound once.

Writes `benchmarks/results/bentoml_bypass_costs.json`.

    python -m benchmarks.bentoml_bypass_costs
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
import timeit
from collections.abc import Sequence
from pathlib import Path

from continual_ml.models import bentoml_internals
from continual_ml.serving.request_timeout import prompt_timeout

RESULTS = Path(__file__).parent / "results" / "bentoml_bypass_costs.json"
SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/predict",
    "headers": [(b"host", b"127.0.0.1:3000"), (b"content-type", b"application/json")],
    "scheme": "http",
    "server": ("127.0.0.1", 3000),
    "client": ("127.0.0.1", 5555),
    "query_string": b"",
    "root_path": "",
    "http_version": "1.1",
}


async def answered(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message) -> None:
    return None


def cpu_us_per_request(middleware, requests: int) -> float:
    async def run() -> float:
        for _ in range(1000):  # warm-up
            await middleware(dict(SCOPE), receive, send)
        started = time.process_time()
        for _ in range(requests):
            await middleware(dict(SCOPE), receive, send)
        return (time.process_time() - started) / requests * 1e6

    return asyncio.run(run())


def timeout_costs(requests: int) -> dict:
    shipped = bentoml_internals.timeout_middleware()
    prompt_timeout()
    variants = {"bentoml": shipped, "prompt_timeout": bentoml_internals.timeout_middleware()}
    results = {}
    for name, cls in variants.items():

        async def run(cls=cls) -> dict:
            middleware = cls(answered, timeout=30)
            gc.collect()
            tracked = len(gc.get_objects())
            started = time.process_time()
            for _ in range(requests):
                await middleware(dict(SCOPE), receive, send)
            cpu = (time.process_time() - started) / requests * 1e6
            live = len(asyncio.get_running_loop()._scheduled)  # measured, not relied on
            gc.collect()
            left = len(gc.get_objects()) - tracked
            collected = time.perf_counter()
            gc.collect()
            return {
                "cpu_us_per_request": cpu,
                "live_timers": live,
                "objects_left_for_gc": left,
                "full_gc_ms": (time.perf_counter() - collected) * 1000,
            }

        results[name] = asyncio.run(run())
    bentoml_internals.replace_timeout_middleware(shipped)
    return results


def tracing_costs(requests: int) -> dict:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.trace import NoOpTracerProvider
    from opentelemetry.util.http import ExcludeList

    traced = OpenTelemetryMiddleware(
        answered,
        excluded_urls=ExcludeList(["/predict", "/predict_rows", "/predict_batch"]),
        default_span_details=None,
        server_request_hook=None,
        client_request_hook=None,
        tracer_provider=NoOpTracerProvider(),
    )
    bare = cpu_us_per_request(answered, requests)
    return {
        "excluded_path_cpu_us_per_request": cpu_us_per_request(traced, requests) - bare,
        "bare_app_cpu_us_per_request": bare,
    }


def api_lookup_costs(lookups: int) -> dict:
    import bentoml

    @bentoml.service
    class Small:
        @bentoml.api
        def predict(self, rows: list[dict]) -> list[dict]:
            return rows

    looked_up, bound = Small.inner(), Small.inner()
    bentoml_internals.bind_api_methods(bound, Small)
    return {
        name: min(timeit.repeat(lambda i=instance: i.predict, number=lookups, repeat=5))
        / lookups
        * 1e6
        for name, instance in (("descriptor_us", looked_up), ("bound_once_us", bound))
    }


def run(requests: int, output: Path | None) -> dict:
    measured = {
        "timeout": timeout_costs(requests),
        "tracing": tracing_costs(requests),
        "api_lookup": api_lookup_costs(requests),
    }
    from benchmarks.stamp import stamp

    results = {
        "stamp": stamp(),
        "command": f"python -m benchmarks.bentoml_bypass_costs --requests {requests}",
        "requests": requests,
        **measured,
    }
    print(json.dumps({k: results[k] for k in ("timeout", "tracing", "api_lookup")}, indent=2))
    if output is not None:
        output.write_text(json.dumps(results, indent=2))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    run(arguments.requests, arguments.output)


if __name__ == "__main__":
    main()
