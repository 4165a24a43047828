"""Progress of one file's ingestion on stderr, for `continual-ml ingest` on large files.

Ingestion is a few DuckDB statements over the whole file, so the progress shown is the stage
(reading, validating and writing, quarantining, recording) and DuckDB's own estimate of how far
the running statement is (`query_progress`, polled from a thread). On a terminal it is one
line redrawn in place; elsewhere (a log file, CI) a line per stage and per tenth done.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TextIO

import duckdb

from continual_ml.settings import Settings

LARGE_FILE_BYTES = 100 * 1024 * 1024
# what runs after each step `continual_ml.ingestion.core` reports
NEXT_STAGE = {
    "keys": "validating and writing",
    "replaced": "validating and writing",
    "written": "quarantining",
    "quarantined": "recording",
    "recorded": "done",
}
BAR_WIDTH = 30


def wants_progress(path: Path, stream: TextIO | None = None) -> bool:
    """Whether to show progress for `path`: forced by the environment, else on a terminal or
    for a file of `LARGE_FILE_BYTES` or more."""
    forced = Settings.from_env().progress
    if forced is not None:
        return forced
    stream = stream or sys.stderr
    try:
        large = path.stat().st_size >= LARGE_FILE_BYTES
    except OSError:
        large = False
    return large or stream.isatty()


class IngestProgress:
    """A context manager showing `name`'s progress while statements run on `conn`; its `step`
    is the ingestion's `on_step` hook."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        name: str,
        stream: TextIO | None = None,
        interval_seconds: float = 0.5,
    ) -> None:
        self.conn, self.name, self.interval = conn, name, interval_seconds
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.stage, self.percent = "reading", -1.0
        self.shown: tuple[str, int] | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._poll, name="ingest-progress", daemon=True)

    def __enter__(self) -> IngestProgress:
        # DuckDB measures a statement's progress only with its progress bar on; it prints
        # nothing itself (we draw the bar).
        self.conn.execute(
            "SET enable_progress_bar = true; SET enable_progress_bar_print = false; "
            "SET progress_bar_time = 0"
        )
        self._show()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.conn.execute("SET enable_progress_bar = false")
        if self.terminal:
            self.stream.write("\n")
            self.stream.flush()

    def step(self, name: str) -> None:
        self.stage, self.percent = NEXT_STAGE.get(name, name), -1.0
        self._show()

    def _poll(self) -> None:
        while not self.stopping.wait(self.interval):
            self.percent = self.conn.query_progress()
            self._show()

    def _show(self) -> None:
        tenth = int(self.percent // 10) if self.percent >= 0 else -1
        if not self.terminal and self.shown == (self.stage, tenth):
            return  # a log gets a line per stage and per tenth, not per poll
        self.shown = (self.stage, tenth)
        if self.percent >= 0:
            filled = int(BAR_WIDTH * min(self.percent, 100) / 100)
            bar = f" [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.percent:5.1f}%"
        else:
            bar = ""
        line = f"{self.name}: {self.stage}{bar}"
        self.stream.write(f"\r{line:<80}" if self.terminal else line + "\n")
        self.stream.flush()
