"""CSV text built from Arrow columns without a Python loop over rows.

A cell is quoted only when it must be (it holds a quote, a comma or a line break), as Python's
`csv` module and pandas write, so the text of a cell that needs no quotes is written back
byte for byte as it was read.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def as_text(column: pa.Array) -> pa.Array:
    """A column's cells as text, a null as the empty cell."""
    if not pa.types.is_string(column.type):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested types: their repr
            column = pa.array([None if v is None else str(v) for v in column.to_pylist()])
    return pc.fill_null(column, "")


def csv_cells(column: pa.Array) -> pa.Array:
    """Cells quoted where CSV needs it (numbers, booleans and times never do)."""
    plain = _never_quoted(column.type)
    text = as_text(column)
    if plain or not _may_need_quotes(text):
        return text
    needs = pc.match_substring_regex(text, '[",\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, text)


def _never_quoted(kind: pa.DataType) -> bool:
    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_temporal(kind)
        or pa.types.is_null(kind)
    )


def _may_need_quotes(text: pa.Array) -> bool:
    """Whether a special byte occurs in the column's text buffer (a byte outside the column's
    slice only costs the exact test); `bytes.find` scans at memory speed."""
    data = text.buffers()[2]
    if data is None:
        return False
    raw = data.to_pybytes()
    return any(raw.find(special) != -1 for special in (b'"', b",", b"\n", b"\r"))


def csv_lines(cells: list[pa.Array]) -> bytes:
    """Rows of already quoted cells joined by commas, one line each (`\\n`)."""
    last = pc.binary_join_element_wise(cells[-1], "\n", "")
    return text_bytes(pc.binary_join_element_wise(*cells[:-1], last, ","))


def text_bytes(text: pa.Array) -> bytes:
    """The cells of a text array, without nulls, concatenated: read from its buffer at once."""
    if len(text) == 0:
        return b""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)
    start, end = offsets[text.offset], offsets[text.offset + len(text)]
    return text.buffers()[2][start:end].to_pybytes()


def header_line(names: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(names)
    return out.getvalue().encode()
