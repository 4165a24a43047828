"""A file's feature columns checked a batch at a time, with Arrow and numpy, never a row at a time.

The rules are the row schema's (`request_schema.row_schema`): a number finite and within the
feature's bounds, a boolean `true`/`false`, a category one of the configured ones (or any text of
at most 200 characters under `CONTINUAL_ML_UNKNOWN_CATEGORY=map`), an empty cell missing, which
only a `nullable` feature may be. A refused row's reason names the feature and its cell as it was
written, in the words the ingestion of the same file would use. Cells of a CSV arrive as text;
a Parquet column of the feature's own type is taken as it is, any other is read as its text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from continual_ml.config import DatasetConfig, FeatureSpec
from continual_ml.serving.request_schema import MAX_CATEGORY_CHARS

NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^(?i:[+-]?(inf|infinity|nan))$"
SHOWN_CHARS = 60  # of a refused cell, in its reason (the ingestion's reasons show as many)


@dataclass(frozen=True)
class CheckedFeatures:
    """One batch's features: numbers and booleans as float64 (NaN where missing), categories as
    text (null where missing), and each row's first reason for refusal, or None."""

    rows: int
    values: dict[str, np.ndarray | pa.Array]
    missing: np.ndarray  # rows with at least one missing (null) feature
    refused: np.ndarray  # rows that may not be scored
    reasons: dict[int, str]  # why, by row

    @property
    def valid(self) -> np.ndarray:
        return ~self.refused


def check_features(
    batch: pa.RecordBatch | pa.Table, config: DatasetConfig, unknown_category: str = "reject"
) -> CheckedFeatures:
    """The features of `batch` (which has every feature column) checked and converted."""
    rows = batch.num_rows
    errors = Refusals(np.zeros(rows, dtype=bool), {})
    missing = np.zeros(rows, dtype=bool)
    values = {}
    for feature in config.features:
        column = batch.column(feature.name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        check = _CHECKS[feature.kind]
        values[feature.name], absent = check(feature, column, errors, unknown_category)
        if not feature.nullable:
            _refuse(errors, absent, column, f"{feature.name}: missing value")
        missing |= absent
    return CheckedFeatures(rows, values, missing, errors.rows, errors.reasons)


@dataclass
class Refusals:
    """Rows refused so far, and why (the first reason found for each)."""

    rows: np.ndarray
    reasons: dict[int, str]


def _refuse(errors: Refusals, bad: np.ndarray, cells: pa.Array, reason: str) -> None:
    """Give each `bad` row without a reason yet `reason`, where `{}` shows the row's cell."""
    if not bad.any():
        return
    new = bad & ~errors.rows
    for i in np.flatnonzero(new).tolist():
        errors.reasons[i] = reason.format(shown(cells[i].as_py())) if "{}" in reason else reason
    errors.rows |= new


def shown(cell) -> str:
    return "'" + str(cell)[:SHOWN_CHARS] + "'"


def _as_text(column: pa.Array) -> pa.Array:
    if pa.types.is_string(column.type):
        return column
    return pc.cast(column, pa.string())


def _text_missing(text: pa.Array) -> np.ndarray:
    """Empty or null cells: an empty CSV cell is a missing value, as the ingestion reads it."""
    empty = pc.fill_null(pc.equal(text, ""), True)
    return empty.to_numpy(zero_copy_only=False)


def _floats(column: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.cast(column, pa.float64()), np.nan).to_numpy(zero_copy_only=False)


def _numeric(feature: FeatureSpec, column: pa.Array, errors: Refusals, _mode: str):
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        absent = column.is_null().to_numpy(zero_copy_only=False)
        values = _floats(column)
    else:
        column = _as_text(column)
        absent = _text_missing(column)
        trimmed = pc.utf8_trim_whitespace(column)
        given = pc.if_else(absent, "nan", trimmed)
        try:  # nearly always: every cell a number, at the cost of one cast
            values = _floats(given)
        except pa.ArrowInvalid:
            parsed = pc.fill_null(pc.match_substring_regex(given, NUMBER), False)
            values = _floats(pc.if_else(parsed, given, "nan"))
            reason = f"{feature.name}: {{}} is not a number"
            _refuse(errors, ~parsed.to_numpy(zero_copy_only=False), column, reason)
    name = feature.name
    _refuse(errors, ~absent & ~np.isfinite(values), column, f"{name}: {{}} is not a finite number")
    with np.errstate(invalid="ignore"):
        if feature.min is not None:
            below = values < feature.min
            _refuse(errors, below, column, f"{name}: {{}} is below the minimum {feature.min:g}")
        if feature.max is not None:
            above = values > feature.max
            _refuse(errors, above, column, f"{name}: {{}} is above the maximum {feature.max:g}")
    return values, absent


def _boolean(feature: FeatureSpec, column: pa.Array, errors: Refusals, _mode: str):
    if pa.types.is_boolean(column.type):
        return _floats(column), column.is_null().to_numpy(zero_copy_only=False)
    column = _as_text(column)
    absent = _text_missing(column)
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    true = pc.fill_null(pc.equal(lowered, "true"), False).to_numpy(zero_copy_only=False)
    false = pc.fill_null(pc.equal(lowered, "false"), False).to_numpy(zero_copy_only=False)
    _refuse(errors, ~absent & ~true & ~false, column, f"{feature.name}: {{}} is not a boolean")
    return np.where(true, 1.0, np.where(false, 0.0, np.nan)), absent


def _categorical(feature: FeatureSpec, column: pa.Array, errors: Refusals, mode: str):
    text = _as_text(column)
    absent = _text_missing(text)
    if mode == "map":
        long = pc.fill_null(pc.greater(pc.utf8_length(text), MAX_CATEGORY_CHARS), False)
        reason = f"{feature.name}: longer than {MAX_CATEGORY_CHARS} characters"
        _refuse(errors, long.to_numpy(zero_copy_only=False), text, reason)
    else:
        known = pc.is_in(text, value_set=pa.array(list(feature.categories), pa.string()))
        unknown = ~absent & ~known.to_numpy(zero_copy_only=False)
        _refuse(errors, unknown, text, f"{feature.name}: unknown category {{}}")
    return pc.if_else(pa.array(absent), pa.scalar(None, pa.string()), text), absent


_CHECKS = {"numeric": _numeric, "boolean": _boolean, "categorical": _categorical}
