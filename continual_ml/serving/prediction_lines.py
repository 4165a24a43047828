"""The prediction log's JSON lines for a file's scored rows, built column by column with Arrow.

Each line is the record `/predict` writes (see `prediction_log`): the same keys and values, so
the loop lands file predictions like any other. Numbers are written in their shortest exact form.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from continual_ml.config import DatasetConfig
from continual_ml.serving.column_scoring import ScoredRows
from continual_ml.serving.csv_text import text_bytes
from continual_ml.serving.file_checks import CheckedFeatures

# Text that a JSON string cannot hold as it is.
_ESCAPED = r'[\x00-\x1f"\\]'


def number_text(values: np.ndarray) -> pa.Array:
    """Finite floats as their shortest exact text; NaN (a missing value) as null."""
    return pc.cast(pa.array(values, mask=np.isnan(values)), pa.string())


def prediction_lines(
    config: DatasetConfig,
    checked: CheckedFeatures,
    scored: ScoredRows,
    ids: pa.Array,
    probability_text: list[pa.Array],
    served_at: str,
    echoed: dict[str, pa.Array] | None = None,
) -> tuple[bytes, int]:
    """The JSON lines of the scored rows of a batch, and how many there are. `echoed` may hold
    a typed number column's text already made (a scored row's number is finite: its text is
    a JSON number)."""
    echoed = echoed or {}
    rows = np.flatnonzero(scored.scored)
    if rows.size == 0:
        return b"", 0
    taken = pa.array(rows)
    parts: list = [
        '{"kind":"prediction","prediction_id":"',
        ids.take(taken),
        f'","model_version":{int(scored.version)},',
    ]
    if scored.regression:  # its number (and interval), where a classifier has classes
        parts += ['"prediction":', probability_text[0].take(taken), ',"interval":']
        if scored.interval is None:
            parts.append("null,")
        else:
            lower, upper = (text.take(taken) for text in probability_text[1:])
            parts += ['{"lower":', lower, ',"upper":', upper]
            parts.append(f',"level":{scored.interval[1]!r}}},')
    else:
        class_json = pa.array([json.dumps(c) for c in scored.classes], pa.string())
        parts += ['"predicted_class":', class_json.take(pa.array(scored.predicted()[rows]))]
        parts.append(',"probabilities":{')
        for i, (name, text) in enumerate(zip(scored.classes, probability_text, strict=True)):
            parts += [("," if i else "") + json.dumps(str(name)) + ":", text.take(taken)]
        parts.append("},")
    parts.append(
        f'"served_at":{json.dumps(served_at)},"latency_ms":{scored.latency_ms!r},"features":{{'
    )
    for i, feature in enumerate(config.features):
        values = checked.values[feature.name]
        parts += [("," if i else "") + json.dumps(feature.name) + ":"]
        if feature.kind == "numeric" and feature.name in echoed:
            parts.append(echoed[feature.name].take(taken))
        else:
            parts.append(_feature_json(feature, values, rows))
    parts.append("}}\n")
    return text_bytes(pc.binary_join_element_wise(*parts, "")), int(rows.size)


def _feature_json(feature, values, rows: np.ndarray) -> pa.Array:
    if feature.kind == "numeric":
        text = number_text(values[rows])
    elif feature.kind == "boolean":
        chosen = values[rows]
        flags = pa.array(chosen == 1.0, mask=np.isnan(chosen))
        text = pc.if_else(flags, "true", "false")
    else:
        text = _json_strings(values.take(pa.array(rows)))
    return pc.fill_null(text, "null")


def _json_strings(text: pa.Array) -> pa.Array:
    """Text as JSON strings; the rare cell needing escapes is encoded by `json`."""
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    escaped = pc.fill_null(pc.match_substring_regex(text, _ESCAPED), False)
    if not pc.any(escaped).as_py():
        return quoted
    exact = [json.dumps(v) if v is not None else None for v in text.to_pylist()]
    return pc.if_else(escaped, pa.array(exact, pa.string()), quoted)
