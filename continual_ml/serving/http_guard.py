"""An ASGI middleware in front of the service's POST routes: the request is checked whole here.

Method (405), bearer token (401, the scheme in any case), content type and charset (415), body
size (413: past the route's limit the body is dropped unparsed), strict JSON (no duplicate keys,
no NaN: `request_json`) and the route's schema (400) are all checked before BentoML sees the
request, so a refused request costs no model work, the oversized one no parsing, and every
refusal has one shape: `{"error": str, "detail": [...]}`, with echoed names cut short. Client
errors are logged at INFO in one line, without traceback.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from pydantic import BaseModel, ValidationError

from continual_ml.serving.request_json import Refusal, clip, validated_json
from continual_ml.serving.request_schema import CONFLICT

log = logging.getLogger("continual_ml.serving.http_guard")
# The scope key under which a checked JSON body's model instance is handed to the route, which
# then need not parse and validate the body a second time.
VALIDATED = "continual_ml.validated_body"

MAX_DETAILS = 20  # errors listed per refusal; the count says how many there were


def validation_refusal(error: ValidationError, conflict_type: str) -> Refusal:
    """A 400 naming the invalid fields; a 409 when the body contradicts itself."""
    conflict = any(e["type"] == conflict_type for e in error.errors())
    detail = [
        {
            "loc": [clip(str(p)) if isinstance(p, str) else p for p in e["loc"]],
            "msg": clip(e["msg"]),
        }
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    first = detail[0]
    where = ".".join(map(str, first["loc"])) or "body"
    more = f" (and {len(detail) - 1} more)" if len(detail) > 1 else ""
    return Refusal(409 if conflict else 400, f"{where}: {first['msg']}{more}", detail[:MAX_DETAILS])


class RequestGuard:
    """Refuse what a protected route must not process; pass the rest through, body replayed.

    `routes` maps each protected path to (the pydantic model of its JSON body, or None for a
    body checked by its route, the body size limit, the content types it takes).
    `unavailable` returns why no request can be served right now (a 503), or None.
    """

    def __init__(
        self,
        app,
        routes: dict[str, tuple[type[BaseModel] | None, int, tuple[str, ...]]],
        token: str | None,
        unavailable: Callable[[], str | None] = lambda: None,
    ):
        self.app, self.routes, self.unavailable = app, routes, unavailable
        self._token = token.encode() if token else None
        # An oversized body is read and dropped, up to twice the largest body a route takes,
        # before the 413 that closes the connection: a client that sends its whole body before
        # reading (Python's http.client, curl without `Expect`) then reads the 413, not a reset
        # connection. Dropping bytes costs less than an accepted body's parsing; past the
        # bound, the connection is closed unread (the client may see a reset).
        self._drain_bytes = 2 * max((limit for _, limit, _ in routes.values()), default=0)

    async def __call__(self, scope, receive, send):
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            return await self.app(scope, receive, send)
        try:
            body, validated = await self._checked_body(scope, receive, *route)
        except Refusal as refusal:
            log.info(
                "refused %s %s: %d %s",
                scope["method"],
                clip(scope["path"]),
                refusal.status,
                refusal.error,
            )
            return await respond(send, refusal, head=scope["method"] == "HEAD")
        except ClientGone:
            return None  # nobody to answer; not a server error
        except Exception:  # a bug of ours: answer, rather than leave the client waiting
            log.exception("request check failed on %s", clip(scope["path"]))
            return await respond(send, Refusal(500, "server: unexpected error, see the log"))

        replayed = False
        if validated is not None:
            scope[VALIDATED] = validated  # this request's own scope: nothing else reads it

        async def replay():
            nonlocal replayed
            if replayed:  # after the body, whatever the client does next (a disconnect)
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _checked_body(
        self, scope, receive, model: type[BaseModel] | None, limit: int, types: tuple[str, ...]
    ) -> tuple[bytes, BaseModel | None]:
        if scope["method"] != "POST":
            raise Refusal(405, f"method: {scope['method']} not allowed, use POST", headers=ALLOW)
        authorization, content_type, declared = [], b"", None
        for name, value in scope["headers"]:  # one pass; a repeated header: the last one
            if name == b"authorization":
                authorization.append(value)
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                declared = value
        if len(authorization) > 1:
            raise Refusal(400, "authorization: more than one Authorization header")
        if self._token is not None:
            given = authorization[0] if authorization else b""
            if not bearer_token_matches(given, self._token):
                challenge = b'Bearer realm="continual-ml"' + (
                    b', error="invalid_token"' if given else b""
                )
                raise Refusal(
                    401,
                    "authorization: missing or invalid bearer token",
                    headers=((b"www-authenticate", challenge),),
                )
        media, _, parameters = content_type.partition(b";")
        if media.strip().lower().decode("latin-1") not in types:
            raise Refusal(415, f"content-type: must be {' or '.join(types)}")
        charset = charset_of(parameters)
        if charset is not None and charset not in UTF8:
            raise Refusal(
                415, f"content-type: charset {clip(charset)} not taken, only UTF-8 (RFC 8259)"
            )
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            if not expects_continue(scope):  # the body is on its way: drop it
                await drain(receive, self._drain_bytes)
            raise Refusal(413, f"body: larger than {limit} bytes", headers=CLOSE)
        body = await read_body(receive, limit, self._drain_bytes)
        if reason := self.unavailable():
            raise Refusal(503, reason[:300], headers=((b"retry-after", b"5"),))
        if model is None:
            return body, None
        try:
            return body, validated_json(model, body)
        except ValidationError as error:
            raise validation_refusal(error, CONFLICT) from None


def bearer_token_matches(given: bytes, token: bytes) -> bool:
    """Whether an Authorization header value is `Bearer <token>`, the scheme in any case
    (RFC 9110 §11.1), compared in constant time: the time taken says nothing of the token."""
    scheme, _, credentials = given.partition(b" ")
    # Compared even for a wrong scheme, so that it takes as long as a wrong token.
    matches = hmac.compare_digest(credentials.lstrip(b" "), token)
    return scheme.lower() == b"bearer" and matches


# UTF-8 and its ASCII subset: what JSON is (RFC 8259 §8.1) and CSV files are read as.
UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def charset_of(parameters: bytes) -> str | None:
    """The charset a Content-Type's parameters declare (lower case, unquoted), or None."""
    for parameter in parameters.split(b";"):
        name, _, value = parameter.partition(b"=")
        if name.strip().lower() == b"charset":
            return value.strip().strip(b'"').lower().decode("latin-1")
    return None


ALLOW = ((b"allow", b"POST"),)
CLOSE = ((b"connection", b"close"),)


def expects_continue(scope) -> bool:
    """Whether the client waits for `100 Continue` before sending its body (reading it would
    invite the client to send a body only to have it dropped)."""
    return any(n == b"expect" and v.lower() == b"100-continue" for n, v in scope["headers"])


async def drain(receive, most: int) -> None:
    """Read and drop the rest of the request body, up to `most` bytes."""
    size = 0
    while size <= most:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        size += len(message.get("body", b""))


class ClientGone(Exception):
    """The client disconnected before sending its whole body."""


async def read_body(receive, limit: int, drain_bytes: int = 0) -> bytes:
    """The whole body; a 413 past `limit` bytes, after dropping the rest up to `drain_bytes`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            if message.get("more_body", False):
                await drain(receive, drain_bytes - size)
            raise Refusal(413, f"body: larger than {limit} bytes", headers=CLOSE)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send, refusal: Refusal, head: bool = False) -> None:
    payload = json.dumps({"error": refusal.error, "detail": refusal.detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *refusal.headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else payload})


class RefusedRows:
    """Answer a 422 to a request to `path` (a merged route) whose answers hold a `RowRefusal`.

    Merged with other callers' rows, one request's unscorable row is marked in place of its
    prediction instead of failing the whole call; only its own request is refused here.
    """

    def __init__(self, app, path: str):
        self.app, self.path = app, path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.path:
            return await self.app(scope, receive, send)
        held, chunks = None, []

        async def send_checked(message):
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 200:
                held = message  # until the whole body says whether a row was refused
                return None
            if held is None or message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return None  # a few rows' answers: small enough to hold
            body = b"".join(chunks)
            if REFUSAL_KEY in body and (reason := _refusal(body)):
                log.info("refused %s: 422 %s", self.path, clip(reason))
                return await respond(send, Refusal(422, reason[:300]))
            await send(held)
            return await send({"type": "http.response.body", "body": body})

        return await self.app(scope, receive, send_checked)


REFUSAL_KEY = b'"unscorable"'  # a `RowRefusal`'s one field; found, the body is parsed to check


def _refusal(body: bytes) -> str | None:
    """The reason of the first `RowRefusal` in a list of answers, or None."""
    try:
        answers = json.loads(body)
    except ValueError:
        return None
    for answer in answers if isinstance(answers, list) else []:
        if isinstance(answer, dict) and answer.keys() == {"unscorable"}:
            return str(answer["unscorable"])
    return None


def unscorable(reason: str):
    """A 422 in the shape of every other refusal: values the model gives no finite answer for."""
    from starlette.responses import JSONResponse

    return JSONResponse({"error": reason[:300], "detail": []}, status_code=422)
