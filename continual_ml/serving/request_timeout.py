"""BentoML's request timeout, without the timer it leaves behind each request.

BentoML answers 504 when no response has started within the service's `traffic.timeout`, which
must be set (it defaults to 60 s). Its middleware starts a timer per request that it never
cancels and runs the request in a second task: at a few thousand requests a second, a 30 s
timeout keeps ~100,000 live timers and futures. The cyclic garbage collector scans them on every
full collection, which took 10 ms growing to 120 ms under load (the p99 tail of `/predict` at
concurrency 16), and the second task costs a scheduling round per request.

`PromptTimeout` keeps the behaviour (504 in the same shape when nothing was sent in time; none
once the response has started) with `asyncio.timeout` in the request's own task: the timer is
cancelled as the response starts, and nothing outlives the request.
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse

from continual_ml.serving.bentoml_internals import replace_timeout_middleware, timeout_middleware


def prompt_timeout() -> None:
    """Make BentoML's server build `PromptTimeout`; call before the server builds its app."""
    base = timeout_middleware()
    if getattr(base, "prompt_by_continual_ml", False):
        return

    class PromptTimeout(base):
        prompt_by_continual_ml = True

        async def __call__(self, scope, receive, send):
            if scope["type"] not in ("http", "websocket"):
                return await self.app(scope, receive, send)
            started = False

            async def send_started(message) -> None:
                nonlocal started
                if not started:
                    started = True
                    deadline.reschedule(None)  # answered in time: the timeout is over
                await send(message)

            try:
                async with asyncio.timeout(self.timeout) as deadline:
                    await self.app(scope, receive, send_started)
            except TimeoutError:
                if not deadline.expired() or started:
                    raise  # the app's own timeout, or too late to answer in its place
                await JSONResponse(
                    {"error": f"Not able to process the request in {self.timeout} seconds"},
                    status_code=504,
                )(scope, receive, send)

    replace_timeout_middleware(PromptTimeout)
