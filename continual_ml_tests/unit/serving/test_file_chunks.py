"""A large file cut into pieces the service takes one at a time: whole records, bytes untouched."""

import csv
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from continual_ml.serving.file_chunks import csv_pieces, parquet_pieces

HEADER = b'x0,"note, with comma"\n'


def records(n: int) -> bytes:
    # Cells with quotes and line breaks, so a piece could end inside a quoted cell.
    out = []
    for i in range(n):
        note = f'"line one\nline ""{i}""\r\nend"' if i % 3 == 0 else f"plain {i}"
        out.append(f"{i},{note}\n".encode())
    return b"".join(out)


@pytest.mark.parametrize("chunk_bytes", [1, 7, 50, 10_000])
def test_pieces_are_whole_records_under_the_header_and_rebuild_the_file(chunk_bytes):
    body = records(200)
    pieces = list(csv_pieces(io.BytesIO(HEADER + body), chunk_bytes))
    assert all(piece.startswith(HEADER) for piece in pieces)
    assert b"".join(piece[len(HEADER) :] for piece in pieces) == body  # byte for byte
    for piece in pieces:  # each parses alone, its records complete
        rows = list(csv.reader(io.StringIO(piece.decode(), newline="")))
        assert all(len(row) == 2 for row in rows)
    if chunk_bytes < len(body):
        assert len(pieces) > 1


def test_a_last_record_without_a_line_break_and_a_header_alone_are_kept():
    assert list(csv_pieces(io.BytesIO(HEADER + b"1,a\n2,b"), 4)) == [
        HEADER + b"1,a\n",
        HEADER + b"2,b",
    ]
    assert list(csv_pieces(io.BytesIO(HEADER), 4)) == [HEADER]
    assert list(csv_pieces(io.BytesIO(b""), 4)) == [b""]


def test_a_parquet_file_is_cut_into_parquet_files_of_bounded_rows(tmp_path):
    path = tmp_path / "day.parquet"
    table = pa.table({"x0": list(range(1000)), "note": [f"n{i}" for i in range(1000)]})
    pq.write_table(table, path, row_group_size=300)
    pieces = [pq.read_table(pa.BufferReader(p)) for p in parquet_pieces(path, chunk_rows=256)]
    assert [p.num_rows for p in pieces] == [256, 256, 256, 232]
    assert pa.concat_tables(pieces).equals(table)
