"""A request body's JSON, parsed strictly: no repeated key, no NaN, the route's schema.

Refusals carry their HTTP status and the one-shape error every refusal of the service has;
echoed names are cut short.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from functools import cache

from pydantic import BaseModel, ValidationError

ECHO_CHARS = 80  # longest name or message echoed back or logged from a client's request


class Refusal(Exception):
    """A refused request: its status, its one-line error, the details and any extra headers."""

    def __init__(self, status: int, error: str, detail: list | None = None, headers=()):
        super().__init__(error)
        self.status, self.error, self.detail, self.headers = status, error, detail or [], headers


def clip(text: str) -> str:
    return text if len(text) <= ECHO_CHARS else text[: ECHO_CHARS - 1] + "…"


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        repeated = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise Refusal(400, f"body: key {clip(repeated)!r} appears more than once in an object")
    return body


def parse_strict_json(body: bytes) -> object:
    """The JSON value of `body`, refusing duplicate keys as a Refusal.

    NaN and Infinity (not JSON, but Python's parser reads them) become floats the schema then
    refuses by name, as it does numbers too large for a float (`1e400`).
    """
    try:
        return json.loads(body, object_pairs_hook=_no_duplicate_keys)
    except ValueError as error:  # not JSON, not UTF-8, or an integer too long to convert
        raise Refusal(400, f"body: not valid JSON ({clip(str(error))})") from None
    except RecursionError:
        raise Refusal(400, "body: nested too deeply") from None


def validated_json(model: type[BaseModel], body: bytes) -> BaseModel:
    """`body` validated as `model`: strict JSON (no duplicate keys, no NaN) of the right shape.

    The common case is checked by pydantic's own JSON parser, which keeps the last of repeated
    keys. Outside strings, JSON has a colon after each key and nowhere else, so a body with as
    many colons as the validated model has fields set (every key being a field) has no key
    twice. Anything else goes through Python's parser, which names a repeated key, then the
    model: refused, or taken, exactly as without this shortcut.
    """
    try:
        validated = model.model_validate_json(body)
    except ValidationError:
        validated = None
    if validated is not None and key_counter(model)(validated) == body.count(b":"):
        return validated
    return model.model_validate(parse_strict_json(body))


@cache
def key_counter(model: type[BaseModel]) -> Callable[[BaseModel], int]:
    """A function counting the keys of the JSON an instance of `model` was validated from, each
    repeated key once, for models without extra fields (each key a field set)."""
    nested = tuple(
        (name, _counter_of(field.annotation))
        for name, field in model.model_fields.items()
        if _may_hold_objects(field.annotation)
    )
    if not nested:  # a row: its keys are its fields set
        return _fields_set

    def count(instance: BaseModel) -> int:
        fields = instance.model_fields_set
        keys = len(fields)
        for name, counter in nested:
            if name in fields:
                keys += counter(getattr(instance, name))
        return keys

    return count


def _fields_set(instance: BaseModel) -> int:
    return len(instance.model_fields_set)


def _counter_of(annotation) -> Callable[[object], int]:
    """Counts the keys of a value of a field annotated `annotation`."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _counter_of(arguments[0])
    if _is_model(annotation):
        return key_counter(annotation)
    if origin is list and _is_model(arguments[0]):
        item = key_counter(arguments[0])
        return lambda items: sum(map(item, items))
    return _keys_of  # anything else: by what the value turns out to be


def _keys_of(value) -> int:
    if isinstance(value, list):
        return sum(map(_keys_of, value))
    return key_counter(type(value))(value) if isinstance(value, BaseModel) else 0


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _may_hold_objects(annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_may_hold_objects(a) for a in typing.get_args(annotation))
    return origin is not None or _is_model(annotation)
