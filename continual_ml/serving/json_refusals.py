"""BentoML's and Starlette's own refusals (an unknown path, a method a route does not take) in
the one JSON shape of every refusal of the service, instead of their plain text.

A middleware registered with BentoML's public `add_asgi_middleware`: it rewrites a 404 or 405
response that is not JSON already, keeping its headers' `Allow`. The routes `RequestGuard`
protects answer their own refusals in that shape and are passed straight through.
"""

from __future__ import annotations

from continual_ml.serving.http_guard import respond
from continual_ml.serving.request_json import Refusal, clip

REWRITTEN = frozenset({404, 405})


def refusal_for(status: int, method: str, path: str, allow: str | None) -> Refusal:
    if status == 404:
        return Refusal(404, f"path: {clip(path)} not found")
    use = f", use {allow}" if allow else ""
    headers = ((b"allow", allow.encode("latin-1")),) if allow is not None else ()
    return Refusal(405, f"method: {method} not allowed on {clip(path)}{use}", headers=headers)


class JsonRefusals:
    """Answer every 404 and 405 from the app behind as JSON `{"error", "detail"}`.

    `answered_elsewhere` are the paths whose refusals already have that shape.
    """

    def __init__(self, app, answered_elsewhere: frozenset[str] = frozenset()):
        self.app, self.answered_elsewhere = app, answered_elsewhere

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.answered_elsewhere:
            return await self.app(scope, receive, send)
        replaced = False

        async def send_as_json(message):
            nonlocal replaced
            if replaced:
                return None  # the plain-text body of the refusal already answered
            if message["type"] != "http.response.start" or message["status"] not in REWRITTEN:
                return await send(message)
            headers = {n.lower(): v for n, v in message.get("headers", ())}
            if headers.get(b"content-type", b"").startswith(b"application/json"):
                return await send(message)
            replaced = True
            allow = headers.get(b"allow")
            refusal = refusal_for(
                message["status"],
                scope["method"],
                scope["path"],
                allow.decode("latin-1") if allow is not None else None,
            )
            return await respond(send, refusal, head=scope["method"] == "HEAD")

        return await self.app(scope, receive, send_as_json)
