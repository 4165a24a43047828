"""A large file cut into self-contained pieces of bounded size, each a valid file of its own.

A CSV is cut at record ends, its bytes untouched, each piece led by the file's header: a line
break inside a quoted cell is not a record end (the quotes before it are odd in number, `""`
escapes included). A Parquet file is cut into batches of rows, each written as a Parquet file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

CHUNK_BYTES = 16 * 1024 * 1024  # a fourth of the service's default body limit
CHUNK_ROWS = 250_000  # of a Parquet file


def record_end(data: bytes, last: bool = True) -> int | None:
    """The offset just past the last (or first) record end in `data`, which starts at a record's
    start, or None when no record ends in it.

    >>> record_end(b'a,b\\n1,"x\\ny"\\n2,')
    12
    >>> record_end(b'a,b\\n1,"x\\ny"\\n2,', last=False)
    4
    >>> record_end(b'1,"x\\ny') is None
    True
    """
    position = data.rfind(b"\n") if last else data.find(b"\n")
    while position != -1:
        if data.count(b'"', 0, position) % 2 == 0:
            return position + 1
        position = data.rfind(b"\n", 0, position) if last else data.find(b"\n", position + 1)
    return None


def csv_pieces(source: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The CSV in `source` as pieces of about `chunk_bytes`, each the header then whole records
    (a record longer than `chunk_bytes` makes a longer piece)."""
    head = b""
    while (end := record_end(head, last=False)) is None:
        block = source.read(64 * 1024)
        if not block:
            yield head  # a header alone, or nothing at all: sent as it is
            return
        head += block
    header, data, ended, sent = head[:end], head[end:], False, False
    while True:
        while len(data) < chunk_bytes and not ended:
            block = source.read(chunk_bytes)
            ended, data = not block, data + block
        if len(data) <= chunk_bytes:  # the end of the file
            if data.strip() or not sent:  # a header alone is sent as it is
                yield header + data
            return
        cut = record_end(data[:chunk_bytes]) or record_end(data, last=False)
        if cut is None:  # one record longer than all read so far
            block = source.read(chunk_bytes)
            if not block:
                yield header + data
                return
            data += block
            continue
        yield header + data[:cut]
        data, sent = data[cut:], True


def parquet_pieces(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """The Parquet file at `path` as Parquet files of at most `chunk_rows` rows each."""
    parquet = pq.ParquetFile(path)
    batches = parquet.iter_batches(batch_size=chunk_rows)
    first = True
    for batch in batches:
        out = io.BytesIO()
        pq.write_table(pa.Table.from_batches([batch], parquet.schema_arrow), out)
        first = False
        yield out.getvalue()
    if first:  # no rows: the empty file, which keeps its columns
        out = io.BytesIO()
        pq.write_table(parquet.schema_arrow.empty_table(), out)
        yield out.getvalue()
