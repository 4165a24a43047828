"""A private copy of a file, taken while it stood still: the bytes ingestion hashes and parses.

DuckDB reads a file several times (its keys, its rows, its rejected lines), and a writer may
rewrite it in between: the sha256 recorded would then be of one version and the rows of
another, and the complete version later skipped as "already ingested". So the file is read
once, hashed and copied in the same pass; every later read is of the copy. The copy counts only
if the file's size and modification time were the same before and after it, and the bytes read
were as many as its size; otherwise it is taken again, a few times, then given up on.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from continual_ml.ingestion.files import FileFacts, inspect_file

# Pauses between attempts: a file rewritten once is read whole at the second attempt; one
# still growing after these (about 3.5 s) is being written, and is not ingested now.
RETRY_WAITS_SECONDS = (0.5, 1.0, 2.0)


class FileKeptChanging(Exception):
    """The file changed while each copy of it was taken: it is still being written."""


def signature(path: Path) -> tuple[int, int]:
    """(size, modification time in ns): what changes when a file is written."""
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


@contextmanager
def stable_copy(
    path: Path,
    allowed_formats: Sequence[str],
    waits: Sequence[float] = RETRY_WAITS_SECONDS,
) -> Iterator[FileFacts]:
    """The facts of a copy of `path` that no writer touched while it was taken (see above);
    the copy lives in a private temporary folder (under $TMPDIR) until the block ends.

    Raises `FileKeptChanging` when every attempt saw the file change.
    """
    with tempfile.TemporaryDirectory(prefix="continual-ml-read-") as folder:
        copy = Path(folder) / path.name  # the same name: DuckDB's messages name the file
        for attempt, wait in enumerate([*waits, None], start=1):
            before = signature(path)
            facts = inspect_file(path, allowed_formats, copy_to=copy)
            if signature(path) == before and facts.size_bytes == before[0]:
                break
            if wait is None:
                raise FileKeptChanging(
                    f"it changed while it was read, {attempt} times over {sum(waits):.1f} s: "
                    "still being written, so not ingested now"
                )
            time.sleep(wait)
        yield facts
