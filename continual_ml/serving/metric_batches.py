"""Prometheus updates noted per request and written together, twice a second and at each scrape.

In a multi-process server (BentoML's), each update of a Prometheus value takes a lock, checks the
process id with a system call and writes the value to a memory-mapped file. A `/predict` made
seven such writes (request count, duration, requests in progress twice, last request time, the
prediction count by class), more CPU than scoring the row. Noted here instead, each costs an
addition; `flush` writes the sums (a counter's increments, a gauge's net change, a histogram's
new observations per bucket) and the gauges kept in plain numbers elsewhere (`level`), at most
`every` seconds later, and before `/metrics` is rendered in this worker. Another worker's
updates reach a scrape within `every` seconds.

`add_observations` is the one place that writes a histogram's buckets directly: the client's
public API takes one observation at a time. `test_metric_batches.py` checks that the exposition
is the same as after observing each value.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from bisect import bisect_left
from collections.abc import Callable

FLUSH_SECONDS = 0.5
log = logging.getLogger(__name__)


def bucket_bounds(histogram_child) -> list[float]:
    """The upper bounds of a histogram child's buckets, the last one +Inf."""
    return list(histogram_child._upper_bounds)


def add_observations(histogram_child, counts: list[int], total: float) -> None:
    """Add `counts[i]` observations to bucket i of `histogram_child`, summing to `total`.

    The same as observing each value, as `Histogram.observe` stores it: one count in the first
    bucket whose bound is at least the value, and the value added to the sum.
    """
    histogram_child._sum.inc(total)
    for bucket, count in zip(histogram_child._buckets, counts, strict=True):
        if count:
            bucket.inc(count)


class MetricBatches:
    """Pending updates of Prometheus children (a counter's or gauge's `labels(...)`), by child."""

    def __init__(self, every: float = FLUSH_SECONDS) -> None:
        self.every = every
        self._lock = threading.Lock()  # the pending updates
        self._flushing = threading.Lock()  # a flush, whole: a scrape waits for one under way
        self._added: dict = {}  # counter or gauge child -> amount to add
        self._observed: dict = {}  # histogram child -> [count per bucket..., sum]
        self._bounds: dict = {}  # histogram child -> its bucket bounds
        self._levels: dict = {}  # gauge child -> where its value is kept
        self._flusher: threading.Thread | None = None
        # A forked child has none of its parent's threads: it starts its own flusher.
        os.register_at_fork(after_in_child=self._forget_parent)
        atexit.register(self.flush)  # a worker stopping writes what it noted last

    def add(self, child, amount: float = 1) -> None:
        """`child.inc(amount)`, later."""
        with self._lock:
            self._added[child] = self._added.get(child, 0) + amount
        if self._flusher is None:
            self._start()

    def level(self, child, read: Callable[[], float | None]) -> None:
        """At each flush, `child.set(read())` unless it is None: a gauge kept elsewhere, in a
        plain number a request updates at no cost (read from this thread: a number, not a sum
        in progress)."""
        with self._lock:
            self._levels[child] = read
        if self._flusher is None:
            self._start()

    def observe(self, child, amount: float, counter=None) -> None:
        """`child.observe(amount)` on a histogram child, later; and `counter.inc()` with it,
        for a counter counting the same events (a request's total beside its duration)."""
        bounds = self._bounds.get(child) or self._bounds.setdefault(child, bucket_bounds(child))
        with self._lock:
            pending = self._observed.get(child)
            if pending is None:
                pending = self._observed[child] = [0] * len(bounds) + [0.0]
            pending[bisect_left(bounds, amount)] += 1
            pending[-1] += amount
            if counter is not None:
                self._added[counter] = self._added.get(counter, 0) + 1
        if self._flusher is None:
            self._start()

    def flush(self) -> None:
        """Write every pending update now; a child that fails to take one is logged and skipped."""
        with self._flushing:
            with self._lock:
                added, self._added = self._added, {}
                observed, self._observed = self._observed, {}
                levels = list(self._levels.items())
            writes = [
                *((child.inc, (amount,)) for child, amount in added.items() if amount),
                *((_set_level, (child, read)) for child, read in levels),
                *(
                    (add_observations, (child, pending[:-1], pending[-1]))
                    for child, pending in observed.items()
                ),
            ]
            for write, arguments in writes:
                try:
                    write(*arguments)
                except Exception:
                    log.exception("could not write a metric update; it is dropped")

    def _forget_parent(self) -> None:
        """In a forked child: its own locks (a parent's thread may have held them) and none of
        the parent's pending updates, which the parent writes itself."""
        self._lock, self._flushing = threading.Lock(), threading.Lock()
        self._added, self._observed, self._levels = {}, {}, {}
        self._flusher = None

    def _start(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(
                target=self._flush_forever, name="metric-batches", daemon=True
            )
        self._flusher.start()

    def _flush_forever(self) -> None:
        stop = threading.Event()  # never set: the thread lives as long as the process
        while not stop.wait(self.every):
            try:
                self.flush()
            except Exception:  # never the end of the flusher: the next round tries again
                log.exception("metric flush failed")


def _set_level(child, read: Callable[[], float | None]) -> None:
    if (value := read()) is not None:
        child.set(value)


BATCHES = MetricBatches()  # the process's own: every update of the service goes through it
