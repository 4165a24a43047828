"""Append-only JSONL logs of served predictions and feedback, rotated into closed files.

The service writes `<kind>-<opened>-<pid>-<n>.jsonl.open`; a file is set aside once it holds
`max_records` lines, and renamed to `.jsonl` by the next `rotate()` (or `close()`), which also
closes a file open for `max_age_seconds`. Only closed `.jsonl` files are ingested, so a reader
never sees a half-written file. The service never touches DuckDB.

A prediction record::

    {"kind": "prediction", "prediction_id": "…", "model_version": 3,
     "served_at": "2026-01-09T10:00:00.123456+00:00", "latency_ms": 0.8,
     "features": {"x0": 0.5, …}, "probabilities": {"0": 0.1, "1": 0.9}, "predicted_class": 1}

A feedback record::

    {"kind": "feedback", "prediction_id": "…", "label": 1,
     "received_at": "2026-01-09T12:00:00+00:00"}
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pydantic_core import to_json

OPEN_SUFFIX = ".jsonl.open"
CLOSED_SUFFIX = ".jsonl"


class RotatingJsonlWriter:
    """Thread-safe appender for one kind of record, rotating by count and by age.

    `write` never waits for the disk: a full file is only set aside. `rotate`, meant for a
    background thread, flushes, fsyncs and renames the files set aside or open too long, outside
    the lock, so requests writing meanwhile are not held up by an fsync.
    """

    def __init__(
        self, directory: Path, kind: str, max_records: int = 5000, max_age_seconds: float = 10.0
    ) -> None:
        self.directory, self.kind = Path(directory), kind
        self.max_records, self.max_age_seconds = max_records, max_age_seconds
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._handle = None
        self._path: Path | None = None
        self._count = 0
        self._opened = 0.0
        self._serial = 0
        self._full: list[tuple] = []  # (handle, path) of files waiting to be closed

    def write(self, records: list[dict]) -> None:
        # pydantic-core's serializer: several times faster than json.dumps on a 1,000-row batch.
        lines = "".join(to_json(r).decode() + "\n" for r in records)
        with self._lock:
            if self._handle is None:
                self._open()
            self._handle.write(lines)
            self._count += len(records)
            if self._count >= self.max_records:
                self._full.append(self._detach())

    def rotate(self) -> None:
        """Close the files that are full, and the open one once it is old enough."""
        with self._lock:
            closing, self._full = self._full, []
            if self._handle is not None and time.monotonic() - self._opened >= self.max_age_seconds:
                closing.append(self._detach())
        for handle, path in closing:
            _close(handle, path)

    def close(self) -> None:
        with self._lock:
            closing, self._full = self._full, []
            if self._handle is not None:
                closing.append(self._detach())
        for handle, path in closing:
            _close(handle, path)

    def _open(self) -> None:
        self._serial += 1
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self._path = (
            self.directory / f"{self.kind}-{stamp}-{os.getpid()}-{self._serial}{OPEN_SUFFIX}"
        )
        self._handle = self._path.open("a", encoding="utf-8")
        self._count, self._opened = 0, time.monotonic()

    def _detach(self) -> tuple:
        detached = (self._handle, self._path)
        self._handle, self._path = None, None
        return detached


def _close(handle, path: Path) -> None:
    """Make the file durable, then give it the name readers look for."""
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    path.rename(path.with_name(path.name.removesuffix(OPEN_SUFFIX) + CLOSED_SUFFIX))


def closed_logs(directory: Path) -> list[Path]:
    """Closed log files, oldest first; open ones are still being written and are skipped."""
    if not Path(directory).exists():
        return []
    return sorted(p for p in Path(directory).iterdir() if p.name.endswith(CLOSED_SUFFIX))
