"""Reading a CSV or Parquet file into Arrow record batches for scoring.

A CSV is read with every column as text: a cell's text is what is checked, and what is echoed
back, byte for byte (`1e400` stays `1e400`, `NaN` stays `NaN`). A Parquet file keeps its types.
A request's body is parsed whole before any answer, so a malformed file is a 400 and never a
half-written answer; a file on disk (`--local`) is read a block at a time, its memory bounded.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from continual_ml.config import DatasetConfig

CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
# How BentoML's clients send a file: one `file` part (the API's parameter), typed by its name.
MULTIPART = "multipart/form-data"
BATCH_ROWS = 65_536  # rows checked, scored and answered at a time
BLOCK_BYTES = 8 * 1024 * 1024  # of a CSV read from disk, at a time


class UnreadableFile(ValueError):
    """The file as a whole cannot be scored: not CSV/Parquet, too many rows, columns missing."""


def file_type(name: str, declared: str | None = None) -> str:
    """CSV or Parquet: the declared type when it is one of them, else by the file's suffix."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared in (CSV, PARQUET):
        return declared
    return PARQUET if name.lower().endswith(".parquet") else CSV


def csv_header(source) -> list[str]:
    """The column names of a CSV (its first record), from a binary file object."""
    text = codecs.getreader("utf-8-sig")(source, errors="strict")
    try:
        return next(csv.reader(text), [])
    except (UnicodeDecodeError, csv.Error) as error:
        raise UnreadableFile(f"file: not readable as {CSV}: {error}"[:300]) from None


def _csv_options(names: list[str]):
    return (
        pa_csv.ParseOptions(newlines_in_values=True),
        pa_csv.ConvertOptions(column_types={name: pa.string() for name in names}),
    )


def checked_columns(schema: pa.Schema, config: DatasetConfig) -> None:
    missing = [name for name in config.feature_names if name not in schema.names]
    if missing:
        raise UnreadableFile(f"file: feature columns missing: {missing[:10]}")


def body_table(body: bytes, content_type: str, config: DatasetConfig, max_rows: int) -> pa.Table:
    """A request body's rows, or UnreadableFile saying why."""
    if content_type != PARQUET and not body.strip():
        # No bytes, no rows: answered as a header-only file is, with the header alone, as a
        # day with no rows exported by `> day.csv` should be.
        return pa.table({name: pa.array([], pa.string()) for name in config.feature_names})
    try:
        if content_type == PARQUET:
            table = pq.read_table(pa.BufferReader(body))
        else:
            names = csv_header(io.BytesIO(body))
            parse, convert = _csv_options(names)
            table = pa_csv.read_csv(
                pa.BufferReader(body), parse_options=parse, convert_options=convert
            )
    except UnreadableFile:
        raise
    except Exception as error:  # Arrow raises many kinds for a malformed file
        raise UnreadableFile(f"file: not readable as {content_type}: {error}"[:300]) from None
    checked_columns(table.schema, config)
    if table.num_rows > max_rows:
        raise UnreadableFile(f"file: {table.num_rows} rows, at most {max_rows} per file")
    return table


def table_batches(table: pa.Table, rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The table's rows in batches of at most `rows` (one empty batch for an empty table)."""
    batches = table.to_batches(max_chunksize=rows)
    yield from batches or [pa.RecordBatch.from_pylist([], schema=table.schema)]


def file_batches(path: Path, config: DatasetConfig, rows: int = BATCH_ROWS):
    """The schema of the file at `path`, its rows as batches read as they are scored, and a
    function telling the fraction of the file read so far."""
    try:
        if file_type(path.name) == PARQUET:
            return _parquet_batches(path, config, rows)
        with path.open("rb") as source:
            names = csv_header(source)
        if not names:
            schema = pa.schema([(name, pa.string()) for name in config.feature_names])
            return schema, iter(()), lambda: 1.0
        parse, convert = _csv_options(names)
        source = pa.OSFile(str(path))
        size = max(source.size(), 1)
        read = pa_csv.ReadOptions(block_size=BLOCK_BYTES)
        reader = pa_csv.open_csv(
            source, read_options=read, parse_options=parse, convert_options=convert
        )
    except UnreadableFile:
        raise
    except Exception as error:
        reason = f"file: not readable as {file_type(path.name)}: {error}"
        raise UnreadableFile(reason[:300]) from None
    checked_columns(reader.schema, config)
    return reader.schema, _rebatched(reader, rows), lambda: min(source.tell() / size, 1.0)


def _parquet_batches(path: Path, config: DatasetConfig, rows: int):
    parquet = pq.ParquetFile(path)
    checked_columns(parquet.schema_arrow, config)
    total, done = max(parquet.metadata.num_rows, 1), [0]

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in parquet.iter_batches(batch_size=rows):
            done[0] += batch.num_rows
            yield batch

    return parquet.schema_arrow, batches(), lambda: done[0] / total


def _rebatched(reader, rows: int) -> Iterator[pa.RecordBatch]:
    """The reader's batches, cut to at most `rows` rows; a malformed block is UnreadableFile."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            raise UnreadableFile(f"file: not readable as {CSV}: {error}"[:300]) from None
        for start in range(0, batch.num_rows, rows):
            yield batch.slice(start, rows)
