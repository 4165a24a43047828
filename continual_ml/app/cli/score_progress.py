"""The progress bar of `continual-ml score`, on stderr: on a terminal, or when asked for."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2


def wants_bar(asked: bool | None, stream: TextIO | None = None) -> bool:
    """`--progress` / `--no-progress` when given, else whether `stream` is a terminal."""
    stream = stream or sys.stderr
    return asked if asked is not None else stream.isatty()


class ProgressBar:
    """`name [#####.....]  45%  450,000 rows  210,000 rows/s`, redrawn in place at most five
    times a second; `close` draws the last state and ends the line."""

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name, self.stream = name, stream or sys.stderr
        self.started = self.drawn = time.monotonic()
        self.fraction, self.rows = 0.0, 0

    def __call__(self, fraction: float, rows: int) -> None:
        self.fraction, self.rows = fraction, rows
        if time.monotonic() - self.drawn >= REDRAW_SECONDS:
            self._draw()

    def _draw(self) -> None:
        self.drawn = time.monotonic()
        filled = int(BAR_WIDTH * self.fraction)
        rate = self.rows / max(self.drawn - self.started, 1e-9)
        self.stream.write(
            f"\r{self.name} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            f"{self.fraction:4.0%}  {self.rows:,} rows  {rate:,.0f} rows/s"
        )
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()
