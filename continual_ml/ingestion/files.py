"""What a file is: one streamed pass for its sha256, its format and whether it is readable."""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
import stat
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

_CHUNK_BYTES = 1 << 20
_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class FileFacts:
    """What one streamed pass over a file found; `problem` says why it cannot be read at all."""

    path: Path
    format: str | None
    size_bytes: int
    sha256: str
    problem: str | None = None
    header: tuple[str, ...] = ()
    copy: Path | None = None  # the private copy of the bytes hashed, when one was made

    @property
    def read_path(self) -> Path:
        """Where the readers find the bytes the sha256 is of: the copy, else the file itself."""
        return self.copy or self.path


def format_of_name(path: Path) -> str | None:
    """The format a file's name says it holds: csv, parquet (`.parquet` or `.pq`) or jsonl.

    >>> format_of_name(Path("day.PQ")), format_of_name(Path("day.txt"))
    ('parquet', None)
    """
    return _FORMATS.get(path.suffix.lower())


def _format_of(path: Path, first_bytes: bytes) -> str | None:
    named = format_of_name(path)
    if named is not None:
        return named
    return "parquet" if first_bytes.startswith(b"PAR1") else None


class _TextCheck:
    """Finds the first reason a stream of chunks is not UTF-8 text, without keeping the text."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.offset = 0
        self.problem: str | None = None

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self.problem is None:
            self.problem = self._problem(chunk, final)
        self.offset += len(chunk)

    def _problem(self, chunk: bytes, final: bool) -> str | None:
        if self.offset == 0 and chunk.startswith(_UTF16_BOMS):
            return "UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8"
        nul = chunk.find(b"\x00")
        if nul >= 0:
            return f"binary data, not UTF-8 text: a NUL byte at byte {self.offset + nul}"
        try:
            self.decoder.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            bad = error.object[error.start]
            return (
                f"not UTF-8 text: byte 0x{bad:02x} near byte {self.offset + error.start} is not "
                "valid UTF-8 (Latin-1 or another encoding?): save it as UTF-8"
            )
        return None


def inspect_file(
    path: Path, allowed_formats: Sequence[str], *, copy_to: Path | None = None
) -> FileFacts:
    """Hash the file in chunks and find what makes it unreadable, if anything; with `copy_to`,
    write the same chunks there, so what is parsed later is exactly what was hashed."""
    digest, size, tail = hashlib.sha256(), 0, b""
    copying = copy_to.open("wb") if copy_to is not None else nullcontext()
    with path.open("rb") as handle, copying as sink:
        chunk = handle.read(_CHUNK_BYTES)
        file_format = _format_of(path, chunk[:4])
        text = _TextCheck() if file_format in ("csv", "jsonl") else None
        head = chunk[:4]
        while chunk:
            digest.update(chunk)
            if sink is not None:
                sink.write(chunk)
            if text is not None:
                text.feed(chunk)
            tail = (tail + chunk)[-4:]
            size += len(chunk)
            chunk = handle.read(_CHUNK_BYTES)
    if text is not None:
        text.feed(b"", final=True)
    sha256 = digest.hexdigest()
    if size == 0:
        problem = "empty file (0 bytes)"
    elif file_format not in allowed_formats:
        expected = " or ".join(allowed_formats)
        problem = f"unsupported file type {path.suffix or '(no suffix)'!r}: expected {expected}"
    elif file_format == "parquet" and not (head == b"PAR1" and tail == b"PAR1"):
        where = "start" if head != b"PAR1" else "end (truncated?)"
        problem = f"not a Parquet file: no PAR1 magic bytes at the {where}"
    else:
        problem = text.problem if text is not None else None
    header: tuple[str, ...] = ()
    if problem is None and file_format == "csv":
        header, problem = _csv_header(copy_to or path)
    return FileFacts(path, file_format, size, sha256, problem, header, copy_to)


def _csv_header(path: Path) -> tuple[tuple[str, ...], str | None]:
    """The column names on the first line, read with the same dialect DuckDB is given."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            header = tuple(next(csv.reader(handle, delimiter=",", quotechar='"'), []))
        except csv.Error as error:
            return (), f"the header line cannot be read as CSV: {error}"
    if not any(name.strip() for name in header):
        return (), "the first line (the header) is empty"
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        return header, f"the header names these columns more than once: {', '.join(repeated)}"
    return header, None


def unlandable_reason(path: Path) -> str | None:
    """Why a landing-folder entry cannot be ingested at all, or None for a readable file.

    A sensor lists the folder and reads what it lists; anything may change in between (a
    symlink whose target is gone, a folder named `day.csv`, a file moved away or not yet
    readable), and none of it may stop the other files from landing.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return "a dangling symlink" if path.is_symlink() else "gone before it could be read"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if not stat.S_ISREG(info.st_mode):
        return "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None
