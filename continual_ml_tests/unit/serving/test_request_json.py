"""The guard's JSON check: its shortcut takes and refuses exactly what the strict parser does."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from continual_ml.config import default_config
from continual_ml.serving.request_json import Refusal, parse_strict_json, validated_json
from continual_ml.serving.request_schema import request_models

MODELS = request_models(default_config())
CONFIG = default_config()
ROW = {"x0": 0.5, "x1": -1.0, "x2": 2.0, "x3": 0.0, "x4": 1e-3, "segment": "east"}


def strict(model, body: bytes):
    """What the guard did before the shortcut: Python's parser, then the model."""
    return model.model_validate(parse_strict_json(body))


def outcome(check, model, body: bytes):
    try:
        return ("taken", check(model, body).model_dump())
    except Refusal as refusal:
        return ("refused", refusal.status, refusal.error)
    except ValidationError as error:
        return ("invalid", [(e["loc"], e["type"]) for e in error.errors()])


def same_outcome(route: str, body: bytes):
    model = MODELS.bodies[route]
    assert outcome(validated_json, model, body) == outcome(strict, model, body), body


@pytest.mark.parametrize(
    "body",
    [
        b'{"features": %s}' % json.dumps(ROW).encode(),
        # a repeated key: inner, outer, first and last, with spaces before the colon
        b'{"features": {"x0": 1, "x0": 2, "x1": 0, "x2": 0, "x3": 0, "x4": 0, "segment": "east"}}',
        b'{"features": {"x0": 1, "x1": 0, "x2": 0, "x3": 0, "x4": 0, "segment": "east", "x4" : 5}}',
        b'{"features": %s, "features": %s}' % ((json.dumps(ROW).encode(),) * 2),
        b'{"features": {"x0": 1, "\\u0078\\u0030": 2, "x1": 0, "x2": 0, "x3": 0, "x4": 0, '
        b'"segment": "east"}}',
        # colons inside strings (the shortcut's count is off, so the strict parser decides)
        b'{"features": {"x0": 1, "x1": 0, "x2": 0, "x3": 0, "x4": 0, "segment": "ea:st"}}',
        b'{"features": {"x0": 1, "x1": 0, "x2": 0, "x3": 0, "x4": 0, "segment": "a\\":b", '
        b'"x0": 2}}',
        # not JSON, or JSON Python reads and pydantic does not
        b'{"features": {"x0": NaN, "x1": 0, "x2": 0, "x3": 0, "x4": 0, "segment": "east"}}',
        b'{"features": {"x0": 1e400, "x1": 0, "x2": 0, "x3": 0, "x4": 0, "segment": "east"}}',
        b'\xef\xbb\xbf{"features": %s}' % json.dumps(ROW).encode(),
        b'{"features": %s} x' % json.dumps(ROW).encode(),
        b'{"features": {"x0": "0.5", "x1": true}}',
        b"[]",
        b"",
    ],
)
def test_the_shortcut_decides_as_the_strict_parser_does(body):
    same_outcome("/predict", body)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(CONFIG.features[-1].categories),
    st.text(max_size=8),
)
KEYS = st.sampled_from([f.name for f in CONFIG.features] + ["features", "rows", "extra", "a:b"])


def escape(key: str) -> str:
    """`key` as a JSON string of escapes only: the same key to a parser, other bytes."""
    return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'


@st.composite
def json_objects(draw, values=JSON_SCALARS):
    """JSON object text with keys drawn with repeats, spaces around colons, escaped keys."""
    pairs = draw(st.lists(st.tuples(KEYS, values), max_size=9))
    colon = draw(st.sampled_from([":", ": ", " :", " : "]))
    escaped = draw(st.booleans())
    items = [f"{escape(k) if escaped else json.dumps(k)}{colon}{json.dumps(v)}" for k, v in pairs]
    return "{" + ", ".join(items) + "}"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(row=json_objects(), repeat_outer=st.booleans())
def test_generated_single_row_bodies_get_the_strict_outcome(row, repeat_outer):
    body = f'{{"features": {row}}}'
    if repeat_outer:
        body = f'{{"features": {row}, "features": {row}}}'
    same_outcome("/predict", body.encode())


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(rows=st.lists(json_objects(), min_size=1, max_size=4))
def test_generated_batches_get_the_strict_outcome(rows):
    same_outcome("/predict_batch", f'{{"rows": [{", ".join(rows)}]}}'.encode())


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries({f: st.just(v) for f, v in ROW.items()}), min_size=1, max_size=4
    ),
    duplicate=st.sampled_from([*ROW, None]),
)
def test_valid_batches_with_one_repeated_key_are_refused_like_the_strict_parser(rows, duplicate):
    texts = [json.dumps(r) for r in rows]
    if duplicate is not None:
        texts[-1] = texts[-1][:-1] + f", {json.dumps(duplicate)}: {json.dumps(ROW[duplicate])}}}"
    body = f'{{"rows": [{", ".join(texts)}]}}'.encode()
    same_outcome("/predict_batch", body)
    if duplicate is not None:
        with pytest.raises(Refusal, match="appears more than once"):
            validated_json(MODELS.bodies["/predict_batch"], body)
