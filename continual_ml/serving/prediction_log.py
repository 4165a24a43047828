"""Append-only JSONL logs of served predictions and feedback, rotated into closed files.

The service writes `<kind>-<opened>-<replica>-<pid>-<n>.jsonl.open`, where `replica` names the
writer's host (`CONTINUAL_ML_REPLICA_ID`, by default the hostname), so replicas on several hosts
sharing one folder never pick the same name; a file is set aside once it holds
`max_records` lines, and renamed to `.jsonl` by the next `rotate()` (or `close()`), which also
closes a file open for `max_age_seconds`. Only closed `.jsonl` files are ingested, so a reader
never sees a half-written file. The service never touches DuckDB.

Durability: `write` hands the lines to the operating system (one `write` system call) before it
returns, and the service answers only after that, so killing the service process (`kill -9`)
loses no acknowledged line; the fsync waits for rotation, so a crash of the whole machine may
lose the last `max_age_seconds` of lines. A writer that dies leaves its `.open` file behind:
`close_abandoned` closes it (at the service's start, for writers of the same replica no longer
running, and before each ingestion, for files untouched for `STALE_OPEN_SECONDS`), cutting a
last line the dead writer left unfinished, which no client was answered for. A process id means
something only on its own host: another replica's files are closed by age alone.

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
import re
import socket
import threading
import time
from pathlib import Path

from pydantic_core import to_json

OPEN_SUFFIX = ".jsonl.open"
CLOSED_SUFFIX = ".jsonl"
# A live writer closes every file within `max_age_seconds` (10 s) plus a poll: an `.open` file
# untouched for far longer than that has no writer left.
STALE_OPEN_SECONDS = 120.0


# Once a write failed, the writer refuses (see `failure`) until the folder has this much free.
RESUME_FREE_BYTES = 16 * 1024 * 1024


class UnloggedRecords(OSError):
    """The records could not be logged (a full disk, say): the request that brought them is
    refused, never answered, since an answered prediction must be in the log."""


def replica_name(replica_id: str | None = None) -> str:
    """The writer's replica in log names: `replica_id`, else the hostname, in safe characters.

    >>> replica_name("web-2.eu"), replica_name("a b/c")
    ('web-2.eu', 'a_b_c')
    """
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", replica_id or socket.gethostname()).strip("._-")
    return name[:63] or "replica"


class RotatingJsonlWriter:
    """Thread-safe appender for one kind of record, rotating by count and by age.

    `write` never waits for the disk: a full file is only set aside. `rotate`, meant for a
    background thread, flushes, fsyncs and renames the files set aside or open too long, outside
    the lock, so requests writing meanwhile are not held up by an fsync.
    """

    def __init__(
        self,
        directory: Path,
        kind: str,
        max_records: int = 5000,
        max_age_seconds: float = 10.0,
        replica_id: str | None = None,
    ) -> None:
        self.directory, self.kind = Path(directory), kind
        self.replica = replica_name(replica_id)
        self.max_records, self.max_age_seconds = max_records, max_age_seconds
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._count = 0
        self._opened = 0.0
        self._serial = 0
        self._full: list[tuple] = []  # (fd, path) of files waiting to be closed
        # Why the last write failed, until `rotate` finds room again: the service refuses
        # requests meanwhile rather than score rows it cannot log.
        self.failure: str | None = None

    def write(self, records: list[dict]) -> None:
        # pydantic-core's serializer: several times faster than json.dumps on a 1,000-row batch.
        if len(records) == 1:  # most requests: one line, without the list and the join
            self.write_lines(to_json(records[0]) + b"\n", 1)
        else:
            self.write_lines(b"".join([to_json(r) + b"\n" for r in records]), len(records))

    def write_lines(self, lines: bytes, count: int) -> None:
        """Append `count` records already encoded as JSON lines."""
        with self._lock:
            try:
                if self._fd is None:
                    self._open()
                # Unbuffered: handed to the OS before the caller answers, so a killed process
                # loses no answered line, in one system call for the whole request.
                _write_all(self._fd, lines)
            except OSError as error:
                self.failure = f"{self.kind} log: {error.strerror or error}"
                raise UnloggedRecords(error.errno, self.failure) from error
            self.failure = None
            self._count += count
            if self._count >= self.max_records:
                self._full.append(self._detach())

    def rotate(self) -> None:
        """Close the files that are full, and the open one once it is old enough."""
        with self._lock:
            closing, self._full = self._full, []
            if self._fd is not None and time.monotonic() - self._opened >= self.max_age_seconds:
                closing.append(self._detach())
        for fd, path in closing:
            try:
                _close(fd, path)
            except OSError:  # no room to make it durable: kept, and closed by a later rotate
                with self._lock:
                    self._full.append((fd, path))
        # Imported here, not at the top: the landing sensors and tests import this module before
        # BentoML sets PROMETHEUS_MULTIPROC_DIR, and the metrics module must see it when loaded.
        from continual_ml.serving.service_metrics import LOG_DISK_FREE

        free = _free_bytes(self.directory)
        LOG_DISK_FREE.set(free)
        if self.failure is not None and free >= RESUME_FREE_BYTES:
            self.failure = None

    def close(self) -> None:
        with self._lock:
            closing, self._full = self._full, []
            if self._fd is not None:
                closing.append(self._detach())
        for fd, path in closing:
            _close(fd, path)

    def _open(self) -> None:
        self._serial += 1
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{self.kind}-{stamp}-{self.replica}-{os.getpid()}-{self._serial}{OPEN_SUFFIX}"
        self._path = self.directory / name
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._count, self._opened = 0, time.monotonic()

    def _detach(self) -> tuple:
        detached = (self._fd, self._path)
        self._fd, self._path = None, None
        return detached


def _free_bytes(directory: Path) -> int:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def _write_all(fd: int, data: bytes) -> None:
    """All of `data`, or none of it: a disk that fills up mid-write leaves no half line."""
    written = os.write(fd, data)  # all of it, but for a full disk or a signal
    if written < len(data):
        view = memoryview(data)[written:]
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_END) - (len(data) - len(view)))
            raise


def _close(fd: int, path: Path) -> None:
    """Make the file durable, then give it the name readers look for."""
    os.fsync(fd)  # raises before anything is undone: the caller may try again
    os.close(fd)
    path.rename(path.with_name(path.name.removesuffix(OPEN_SUFFIX) + CLOSED_SUFFIX))


def log_writer(path: Path) -> tuple[str | None, int] | None:
    """The replica and pid in `<kind>-<opened>-<replica>-<pid>-<n>.jsonl[.open]`, or None for
    a name not ours; the replica is None in names written before replicas had one.

    >>> log_writer(Path("predictions-20260101T000000-web-2-4711-3.jsonl.open"))
    ('web-2', 4711)
    >>> log_writer(Path("feedback-20260101T000000-4711-3.jsonl"))
    (None, 4711)
    >>> log_writer(Path("predictions-still-open.jsonl.open")) is None
    True
    """
    name = path.name.removesuffix(OPEN_SUFFIX).removesuffix(CLOSED_SUFFIX)
    parts = name.split("-", 2)
    if len(parts) < 3:
        return None
    fields = parts[2].rsplit("-", 2)
    if len(fields) < 2 or not (fields[-2].isdigit() and fields[-1].isdigit()):
        return None
    return (fields[0] if len(fields) == 3 else None), int(fields[-2])


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True


def close_abandoned(
    directory: Path,
    *,
    older_than_seconds: float | None = None,
    dead_writers: bool = False,
    replica_id: str | None = None,
) -> list[Path]:
    """Close the `.open` files no writer will close: untouched for `older_than_seconds`, or
    (with `dead_writers`) written by a process of this replica (`replica_id`, by default the
    hostname) no longer running. Other replicas' pids are not ours to check: their files wait
    for the age rule."""
    directory = Path(directory)
    replica = replica_name(replica_id)
    if not directory.exists():
        return []
    closed = []
    now = time.time()
    for path in sorted(directory.glob(f"*{OPEN_SUFFIX}")):
        try:
            stale = older_than_seconds is not None and (
                now - path.stat().st_mtime >= older_than_seconds
            )
        except FileNotFoundError:  # closed meanwhile by its writer
            continue
        writer = log_writer(path)
        dead = (
            dead_writers
            and writer is not None
            and writer[0] in (None, replica)  # None: named before replicas, so this host's
            and writer[1] != os.getpid()
            and not _running(writer[1])
        )
        if (stale or dead) and (target := _close_leftover(path)):
            closed.append(target)
    return closed


def _close_leftover(path: Path) -> Path | None:
    if path.stat().st_size == 0:
        path.unlink()  # the writer died before its first line: nothing to ingest
        return None
    with path.open("r+b") as handle:
        content = handle.read()
        # A line without its newline was cut by the kill: its request was never answered.
        complete = content.rfind(b"\n") + 1
        if complete < len(content):
            handle.truncate(complete)
        handle.flush()
        os.fsync(handle.fileno())
    target = path.with_name(path.name.removesuffix(OPEN_SUFFIX) + CLOSED_SUFFIX)
    path.rename(target)
    return target


def closed_logs(directory: Path) -> list[Path]:
    """Closed log files, oldest first; open ones are still being written and are skipped."""
    if not Path(directory).exists():
        return []
    return sorted(p for p in Path(directory).iterdir() if p.name.endswith(CLOSED_SUFFIX))
