"""An ASGI middleware in front of the service: bearer token, content type and body size.

It answers before the request reaches BentoML, so a refused request costs no parsing and the
token check happens in one place for every protected route.
"""

from __future__ import annotations

import hmac
import json


class RequestGuard:
    """Refuse unauthorized (401), non-JSON (415) and oversized (413) requests to `protected`."""

    def __init__(self, app, protected: frozenset[str], token: str | None, max_body_bytes: int):
        self.app, self.protected = app, protected
        self._expected = f"Bearer {token}".encode() if token else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in self.protected:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if self._expected is not None:
            # Constant-time comparison: the time taken says nothing about the token's prefix.
            if not hmac.compare_digest(headers.get(b"authorization", b""), self._expected):
                return await _refuse(send, 401, "authorization: missing or invalid bearer token")
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json":
            return await _refuse(send, 415, "content-type: must be application/json")
        declared = headers.get(b"content-length")
        if declared is not None:
            if int(declared) > self.max_body_bytes:
                return await _refuse(send, 413, f"body: larger than {self.max_body_bytes} bytes")
            return await self.app(scope, receive, send)
        # No declared length (chunked): read up to the limit before letting the request through.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body_bytes:
                return await _refuse(send, 413, f"body: larger than {self.max_body_bytes} bytes")
        body = b"".join(chunks)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


async def _refuse(send, status: int, error: str) -> None:
    payload = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
