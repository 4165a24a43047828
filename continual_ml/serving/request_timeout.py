"""BentoML's request timeout, without a timer per request.

BentoML answers 504 when no response has started within the service's `traffic.timeout`, which
must be set (it defaults to 60 s). Its middleware starts a timer per request that it never
cancels and runs the request in a second task: at a few thousand requests a second, a 30 s
timeout keeps ~100,000 live timers and futures. The cyclic garbage collector scans them on every
full collection, which took 10 ms growing to 120 ms under load (the p99 tail of `/predict` at
concurrency 16), and the second task costs a scheduling round per request. Even a timer started
and cancelled per request (`asyncio.timeout`) cost a tenth of a `/predict`'s CPU.

`PromptTimeout` keeps the behaviour (504 in the same shape when nothing was sent in time; none
once the response has started) with one sweep per worker: each request waiting for its response
is noted with its deadline, and a sweep, scheduled only while some request waits, cancels the
ones past it every tenth of the timeout (at most every second). A request is cut between its
timeout and a tenth later.
"""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

from starlette.responses import JSONResponse

from continual_ml.models.bentoml_internals import replace_timeout_middleware, timeout_middleware

MAX_SWEEP_SECONDS = 1.0


class Deadlines:
    """The requests of one event loop waiting for their response to start, and their sweep."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop, self.timeout = loop, timeout
        self.every = min(MAX_SWEEP_SECONDS, timeout / 10)
        self.waiting: dict[asyncio.Task, float] = {}  # task -> deadline on the loop's clock
        self.expired: set[asyncio.Task] = set()  # cut by the sweep, not answered yet
        self.sweeping = False

    def wait(self, task: asyncio.Task) -> None:
        self.waiting[task] = self.loop.time() + self.timeout
        if not self.sweeping:
            self.sweeping = True
            self.loop.call_later(self.every, self._sweep)

    def answered(self, task: asyncio.Task) -> None:
        self.waiting.pop(task, None)

    def _sweep(self) -> None:
        now = self.loop.time()
        for task, deadline in list(self.waiting.items()):
            if deadline <= now:
                del self.waiting[task]
                self.expired.add(task)
                task.cancel()
        self.sweeping = bool(self.waiting)
        if self.sweeping:
            self.loop.call_later(self.every, self._sweep)


def prompt_timeout() -> None:
    """Make BentoML's server build `PromptTimeout`; call before the server builds its app."""
    base = timeout_middleware()
    if getattr(base, "prompt_by_continual_ml", False):
        return

    class PromptTimeout(base):
        prompt_by_continual_ml = True

        def __init__(self, app, timeout: float):
            super().__init__(app, timeout=timeout)
            # one per event loop (a server has one; tests run several)
            self._deadlines: WeakKeyDictionary = WeakKeyDictionary()
            self._latest: Deadlines | None = None  # the last loop's, looked up without a weakref

        async def __call__(self, scope, receive, send):
            if scope["type"] not in ("http", "websocket"):
                return await self.app(scope, receive, send)
            task = asyncio.current_task()
            loop = task.get_loop()
            deadlines = self._latest
            if deadlines is None or deadlines.loop is not loop:
                deadlines = self._deadlines.get(loop)
                if deadlines is None:
                    deadlines = self._deadlines[loop] = Deadlines(loop, self.timeout)
                self._latest = deadlines
            expired = deadlines.expired
            started = False

            async def send_started(message) -> None:
                nonlocal started
                if expired and task in expired:
                    return None  # cut: the 504 below is this request's answer
                if not started:
                    started = True
                    deadlines.answered(task)  # answered in time: the timeout is over
                await send(message)

            deadlines.wait(task)
            cut = False
            try:
                await self.app(scope, receive, send_started)
            except (asyncio.CancelledError, Exception):
                if task not in expired:
                    raise  # not the sweep's: the app's own error, or another's cancel
                # Cut by the sweep: the app let the cancel through, or turned it into an error
                # of its own (BentoML's batching dispatcher: a 503, dropped above).
            finally:
                if not started:
                    deadlines.answered(task)
                if expired and task in expired:
                    expired.discard(task)
                    cut = True
            if not cut:
                return None  # answered in time
            # The cancel was the sweep's (an app may also swallow it): answered here, unless
            # someone else cancelled too, the server stopping, say.
            if task.uncancel() > 0:
                raise asyncio.CancelledError
            await self._too_late(scope, receive, send)

        async def _too_late(self, scope, receive, send) -> None:
            await JSONResponse(
                {"error": f"Not able to process the request in {self.timeout} seconds"},
                status_code=504,
            )(scope, receive, send)

    replace_timeout_middleware(PromptTimeout)
