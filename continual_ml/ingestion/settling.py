"""When a landed file is complete enough to take: its size and modification time held still.

A writer may still be filling a file the landing sensor lists (a slow copy, a script appending
day by day). The sensor sees each file once a tick and takes it only after the file's signature
(size, mtime) has stayed the same for `settle_seconds` by the sensor's own clock (so a writer's
clock, or a file system's, cannot make a fresh file look old). The state is plain data the sensor
keeps in its cursor between ticks. A Parquet file whose footer is in place is complete by its
format (writers put the footer last), so it needs no wait; writers of other formats that write
elsewhere and rename into place can set the wait to 0.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Seen:
    """A file's signature, and when (the sensor's clock, in seconds) it was first seen so."""

    size: int
    mtime_ns: int
    since: float

    def as_list(self) -> list:
        return [self.size, self.mtime_ns, self.since]


@dataclass(frozen=True)
class Settling:
    """Which files are ready, which still settle (with the seconds they have waited), and the
    state to keep for the next tick."""

    ready: list[str]
    waiting: dict[str, float] = field(default_factory=dict)
    state: dict[str, Seen] = field(default_factory=dict)


def settle(
    previous: Mapping[str, Seen],
    current: Mapping[str, tuple[int, int]],
    now: float,
    settle_seconds: float,
    complete: frozenset[str] = frozenset(),
) -> Settling:
    """Sort the files of this tick (name -> (size, mtime_ns)) into ready and still settling.

    A file is ready once seen with the same signature `settle_seconds` ago or earlier, or at
    once when it is in `complete`; a new or changed file starts its wait now. Files gone from
    `current` leave the state.

    >>> first = settle({}, {"a.csv": (10, 1)}, now=100.0, settle_seconds=5)
    >>> first.ready, first.waiting
    ([], {'a.csv': 0.0})
    >>> settle(first.state, {"a.csv": (10, 1)}, now=106.0, settle_seconds=5).ready
    ['a.csv']
    >>> settle(first.state, {"a.csv": (20, 2)}, now=106.0, settle_seconds=5).waiting
    {'a.csv': 0.0}
    """
    ready, waiting, state = [], {}, {}
    for name, (size, mtime_ns) in sorted(current.items()):
        seen = previous.get(name)
        if seen is None or (seen.size, seen.mtime_ns) != (size, mtime_ns):
            seen = Seen(size, mtime_ns, now)
        state[name] = seen
        held = max(0.0, now - seen.since)
        if held >= settle_seconds or name in complete:
            ready.append(name)
        else:
            waiting[name] = held
    return Settling(ready, waiting, state)


def parquet_complete(path: Path) -> bool:
    """Whether a Parquet file's footer is in place: the magic bytes at both ends, and a footer
    length that fits the file. A writer still at work has not written the footer yet."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            size = os.fstat(handle.fileno()).st_size
            if head != PARQUET_MAGIC or size < 12:
                return False
            handle.seek(size - 8)
            tail = handle.read(8)
    except OSError:
        return False
    (footer_length,) = struct.unpack("<I", tail[:4])
    return tail[4:] == PARQUET_MAGIC and footer_length <= size - 12
