"""BentoML's request timeout as the service installs it: 504 in time, and no timer left behind."""

import asyncio

import pytest

from continual_ml.models import bentoml_internals
from continual_ml.serving.request_timeout import prompt_timeout


@pytest.fixture
def timeout_middleware():
    original = bentoml_internals.timeout_middleware()
    prompt_timeout()
    try:
        yield bentoml_internals.timeout_middleware()
    finally:
        bentoml_internals.replace_timeout_middleware(original)


def request(middleware_app, sent: list):
    """A coroutine sending one empty POST through `middleware_app`, its messages into `sent`."""

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": []}
    return middleware_app(scope, receive, send)


class TimerLog:
    """The timers a loop is asked for (through its public `call_later`), and when each ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.handles, self.ran = loop, [], []
        schedule = loop.call_later

        def call_later(delay, callback, *args, **kwargs):
            def run(*a):
                self.ran.append((callback, loop.time()))
                return callback(*a)

            handle = schedule(delay, run, *args, **kwargs)
            self.handles.append((callback, handle))
            return handle

        loop.call_later = call_later

    def live(self) -> list:
        """Timers neither cancelled nor run yet."""
        ran = {id(callback) for callback, _ in self.ran}
        return [h for c, h in self.handles if not h.cancelled() and id(c) not in ran]

    def sweeps_run(self) -> list[float]:
        return [at for callback, at in self.ran if "_sweep" in repr(callback)]


def call(middleware, app, timeout: float) -> tuple[list[dict], list]:
    """The messages `app` behind `middleware` sends, and the timers it left live after."""

    async def main():
        timers = TimerLog(asyncio.get_running_loop())
        sent = []
        await request(middleware(app, timeout=timeout), sent)
        return sent, timers.live()

    return asyncio.run(main())


async def answer(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await asyncio.sleep(0.3)  # a slow body after a prompt start is not cut
    await send({"type": "http.response.body", "body": b"ok"})


async def stall(scope, receive, send):
    await asyncio.sleep(30)


def test_it_replaces_bentomls_middleware_by_a_subclass(timeout_middleware):
    from bentoml._internal.server.http import traffic

    # the server builds its middleware from this name at start-up
    assert traffic.TimeoutMiddleware is timeout_middleware
    assert timeout_middleware.__mro__[1].__module__ == traffic.__name__


def test_a_request_answered_in_time_leaves_no_timer(timeout_middleware):
    sent, live_timers = call(timeout_middleware, answer, timeout=0.1)
    assert [m.get("status") for m in sent] == [200, None] and sent[1]["body"] == b"ok"
    assert live_timers == []  # BentoML's own left one per request until the timeout ran out


def test_a_request_not_started_in_time_is_answered_504(timeout_middleware):
    sent, live_timers = call(timeout_middleware, stall, timeout=0.1)
    assert sent[0]["status"] == 504
    assert b"Not able to process the request in 0.1 seconds" in sent[1]["body"]
    assert live_timers == []


def test_the_apps_own_timeout_error_is_not_taken_for_the_deadline(timeout_middleware):
    async def fails(scope, receive, send):
        raise TimeoutError("upstream")

    with pytest.raises(TimeoutError, match="upstream"):
        call(timeout_middleware, fails, timeout=5)


def test_many_requests_share_one_sweep_and_each_is_cut_in_time(timeout_middleware):
    async def main():
        loop = asyncio.get_running_loop()
        timers = TimerLog(loop)
        entered: dict[int, float] = {}  # request -> when its wait began (the app is entered)

        async def stall_noting_entry(scope, receive, send):
            entered[id(asyncio.current_task())] = loop.time()
            await asyncio.sleep(30)

        middleware = timeout_middleware(stall_noting_entry, timeout=0.2)
        sent: list[dict] = []

        async def one():
            before = loop.time()
            await request(middleware, sent)
            return (before, entered[id(asyncio.current_task())]), loop.time()

        requests = [asyncio.create_task(one()) for _ in range(200)]
        await asyncio.sleep(0.05)
        waiting_timers = len(timers.live())
        deadlines_and_answers = await asyncio.gather(*requests)
        statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
        return statuses, deadlines_and_answers, waiting_timers, timers.sweeps_run()

    statuses, deadlines_and_answers, waiting_timers, sweeps = asyncio.run(main())
    assert waiting_timers == 1  # one timer for all the requests waiting, not one each
    assert statuses == [504] * 200
    # Never before its deadline, and answered before the sweep after the one past its deadline:
    # the first sweep past it cut it. Told by the loop's own order of events, not by a bound on
    # elapsed time, which a loaded machine stretches.
    for (before, entered), answered in deadlines_and_answers:
        # its deadline was set between these two readings of the loop's clock
        assert answered >= before + 0.2
        cut_by = min((at for at in sweeps if at >= entered + 0.2), default=float("inf"))
        assert answered < min((at for at in sweeps if at > cut_by), default=float("inf"))


def test_a_request_cancelled_by_someone_else_is_not_answered_504(timeout_middleware):
    async def main():
        sent = []
        cut = asyncio.create_task(request(timeout_middleware(stall, timeout=5), sent))
        await asyncio.sleep(0.05)
        cut.cancel()  # the server shutting down, say
        with pytest.raises(asyncio.CancelledError):
            await cut
        return sent

    assert asyncio.run(main()) == []


async def answers_503_when_cancelled(scope, receive, send):
    """As BentoML's batching dispatcher does: the cancel becomes an answer of its own."""
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b"overloaded"})


async def swallows_the_cancel(scope, receive, send):
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        return


@pytest.mark.parametrize("app", [answers_503_when_cancelled, swallows_the_cancel])
def test_an_app_that_handles_the_cancel_itself_still_gets_only_the_504(timeout_middleware, app):
    sent, _ = call(timeout_middleware, app, timeout=0.1)
    assert [m.get("status") for m in sent] == [504, None]
    assert b"Not able to process the request in 0.1 seconds" in sent[1]["body"]


def test_a_cancel_from_elsewhere_at_the_deadline_is_not_swallowed(timeout_middleware, monkeypatch):
    from continual_ml.serving.request_timeout import Deadlines

    sweep = Deadlines._sweep

    def sweep_as_the_server_stops(self):
        sweep(self)
        for task in list(self.expired):
            task.cancel()  # a second canceller in the same turn of the loop

    monkeypatch.setattr(Deadlines, "_sweep", sweep_as_the_server_stops)

    async def main():
        sent = []
        cut = asyncio.create_task(request(timeout_middleware(stall, timeout=0.1), sent))
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(cut, 5)
        return sent

    assert asyncio.run(main()) == []


def test_one_middleware_serving_two_event_loops_times_out_on_each(timeout_middleware):
    import threading

    middleware = timeout_middleware(stall, timeout=0.2)
    statuses: dict[str, list] = {}

    def serve(name: str) -> None:
        async def main():
            sent = []
            await asyncio.wait_for(request(middleware, sent), 5)
            statuses[name] = [m.get("status") for m in sent]

        asyncio.run(main())

    loops = [threading.Thread(target=serve, args=(name,)) for name in ("a", "b")]
    for thread in loops:
        thread.start()
    for thread in loops:
        thread.join()
    assert statuses == {"a": [504, None], "b": [504, None]}
