"""The request guard's handling of an oversized body, driven as an ASGI server drives it: the
rest of the body is read and dropped before the 413 (so a client sending it all first can read
the answer), up to a bound, and not at all when the client waits for `100 Continue`."""

from __future__ import annotations

import asyncio
import json

import pytest

from continual_ml.serving.http_guard import RequestGuard, drain, read_body
from continual_ml.serving.request_json import Refusal

LIMIT = 100


def body_of(chunks: int, size: int = 64):
    """An ASGI `receive` yielding `chunks` body chunks; it records how many were read."""
    read = []

    async def receive():
        read.append(1)
        if len(read) > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b" " * size, "more_body": len(read) < chunks}

    return receive, read


def test_a_body_past_its_limit_is_read_to_its_end_before_the_413():
    receive, read = body_of(chunks=50)
    with pytest.raises(Refusal) as refused:
        asyncio.run(read_body(receive, LIMIT, drain_bytes=10_000))
    assert refused.value.status == 413
    assert len(read) == 50  # every chunk, none more


def test_dropping_stops_at_its_bound():
    receive, read = body_of(chunks=1000)
    asyncio.run(drain(receive, most=640))
    assert 10 <= len(read) <= 12  # about 640 bytes of 64-byte chunks, not the whole body


def guarded(headers: list[tuple[bytes, bytes]], receive):
    sent = []

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):  # never reached: the request is refused
        raise AssertionError("passed on")

    guard = RequestGuard(app, routes={"/r": (None, LIMIT, ("application/json",))}, token=None)
    scope = {"type": "http", "method": "POST", "path": "/r", "headers": headers}
    asyncio.run(guard(scope, receive, send))
    return sent


JSON = (b"content-type", b"application/json")


def test_a_declared_oversized_body_is_dropped_then_refused():
    receive, read = body_of(chunks=3)  # 192 bytes: past the limit, within twice it
    sent = guarded([JSON, (b"content-length", b"192")], receive)
    assert sent[0]["status"] == 413 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"] == f"body: larger than {LIMIT} bytes"
    assert len(read) == 3


def test_past_twice_the_largest_limit_the_body_is_left_unread():
    receive, read = body_of(chunks=1000)
    sent = guarded([JSON, (b"content-length", b"64000")], receive)
    assert sent[0]["status"] == 413 and len(read) <= 5  # 2 x 100 bytes in 64-byte chunks


def test_a_client_waiting_for_100_continue_is_refused_before_it_sends():
    receive, read = body_of(chunks=20)
    expect = (b"expect", b"100-continue")
    sent = guarded([JSON, (b"content-length", b"1280"), expect], receive)
    assert sent[0]["status"] == 413 and read == []
