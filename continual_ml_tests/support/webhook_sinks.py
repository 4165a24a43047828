"""Real HTTP receivers on loopback standing in for Slack and Discord, one server per sink, each
able to hang; and the links an alert's Slack and Discord payloads carry."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Post:
    path: str
    payload: dict
    arrived: float  # time.monotonic() as the request was read
    answered: float | None = None  # as the reply was sent (None: still held, or never)


@dataclass
class Sink:
    """A webhook receiver: answers 200, or holds each request up to `hang_seconds` first."""

    url: str = ""
    hang_seconds: float = 0.0
    posts: list[Post] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def payloads(self) -> list[dict]:
        return [post.payload for post in self.posts]

    def wait_for(self, n: int, timeout: float) -> list[dict]:
        """The first `n` payloads, waiting at most `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        while len(self.posts) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.posts) >= n, f"{len(self.posts)} posts of {n} within {timeout:g}s"
        return self.payloads()[:n]


@contextmanager
def sinks(n: int = 2) -> Iterator[list[Sink]]:
    """`n` receivers, each on its own port; held requests are released on exit."""
    started: list[tuple[Sink, ThreadingHTTPServer]] = []
    try:
        for _ in range(n):
            sink = Sink()
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
            server.daemon_threads = True
            sink.url = f"http://127.0.0.1:{server.server_address[1]}"
            threading.Thread(target=server.serve_forever, daemon=True).start()
            started.append((sink, server))
        yield [sink for sink, _ in started]
    finally:
        for sink, server in started:
            sink.release.set()
            server.shutdown()
            server.server_close()


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            post = Post(self.path, json.loads(body), time.monotonic())
            sink.posts.append(post)
            if sink.hang_seconds:
                sink.release.wait(sink.hang_seconds)
            try:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the client gave up on a held request
                pass
            post.answered = time.monotonic()

        def log_message(self, *args) -> None:
            pass

    return Handler


_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_DISCORD_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")


def slack_links(payload: dict) -> dict[str, str]:
    """Label -> URL of every link in a Slack payload's blocks (`&amp;` unescaped)."""
    texts = [b.get("text", {}).get("text", "") for b in payload["blocks"]]
    return {
        label: url.replace("&amp;", "&")
        for text in texts
        for url, label in _SLACK_LINK.findall(text)
    }


def discord_links(payload: dict) -> dict[str, str]:
    """Label -> URL of every link in a Discord payload's embed fields, plus the title's."""
    embed = payload["embeds"][0]
    found = {
        label: url for f in embed["fields"] for label, url in _DISCORD_LINK.findall(f["value"])
    }
    if "url" in embed:
        found["(title)"] = embed["url"]
    return found
