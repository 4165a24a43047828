"""Batched Prometheus updates: the same exposition as updating one by one, written in time."""

import os
import random
import threading
import time

import prometheus_client.values
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from continual_ml.serving.metric_batches import MetricBatches

BUCKETS = (0.001, 0.01, 0.1, 1.0, 10.0)


@pytest.fixture(autouse=True)
def values_in_memory(monkeypatch):
    """Metric values in this process's memory, as in a worker before its first flush: an
    in-process service in this test process switches Prometheus to its multiprocess files."""
    monkeypatch.setattr(prometheus_client.values, "ValueClass", prometheus_client.values.MutexValue)


def metrics(registry: CollectorRegistry):
    counter = Counter("requests", "", ["endpoint"], registry=registry)
    gauge = Gauge("in_progress", "", ["endpoint"], registry=registry)
    latest = Gauge("last_request", "", registry=registry)
    histogram = Histogram("duration", "", ["endpoint"], buckets=BUCKETS, registry=registry)
    return counter, gauge, latest, histogram


def exposition(registry: CollectorRegistry) -> list:
    """Every line, creation times left out (they differ between registries), and each sum as a
    number rounded to 9 digits (added up in another order, the last bits differ)."""
    lines = []
    for line in generate_latest(registry).decode().splitlines():
        if "_created" in line:
            continue
        name, _, value = line.rpartition(" ")
        lines.append((name, round(float(value), 9)) if "_sum{" in line else line)
    return lines


def test_a_flush_exposes_what_updating_one_by_one_does():
    rng = random.Random(7)
    # on and between bucket bounds, below the first and above the last
    values = [*BUCKETS, 0.0, 0.0005, 50.0] + [rng.uniform(0, 12) for _ in range(500)]
    direct, batched = CollectorRegistry(), CollectorRegistry()
    d_counter, d_gauge, d_latest, d_histogram = metrics(direct)
    b_counter, b_gauge, b_latest, b_histogram = metrics(batched)
    batches = MetricBatches(every=3600)  # flushed below, by hand
    kept = {"latest": None}  # the batched side's gauge, read at each flush
    batches.level(b_latest, lambda: kept["latest"])
    for i, value in enumerate(values):
        endpoint = "/predict" if i % 3 else "/feedback"
        d_counter.labels(endpoint).inc()
        d_gauge.labels(endpoint).inc()
        d_histogram.labels(endpoint).observe(value)
        d_latest.set(value)
        batches.add(b_gauge.labels(endpoint), 1)
        if i % 4:  # the counter counted with the observation, or on its own
            batches.observe(b_histogram.labels(endpoint), value, counter=b_counter.labels(endpoint))
        else:
            batches.add(b_counter.labels(endpoint))
            batches.observe(b_histogram.labels(endpoint), value)
        kept["latest"] = value
        if i % 2:
            d_gauge.labels(endpoint).dec()
            batches.add(b_gauge.labels(endpoint), -1)
        if i == 100:
            batches.flush()  # a flush midway changes nothing of the end result
    assert exposition(direct) != exposition(batched)  # nothing of the rest written yet
    batches.flush()
    assert exposition(direct) == exposition(batched)
    batches.flush()  # nothing pending: nothing changes
    assert exposition(direct) == exposition(batched)


def test_updates_are_written_within_the_flush_interval_without_being_asked():
    registry = CollectorRegistry()
    counter, *_ = metrics(registry)
    batches = MetricBatches(every=0.1)
    batches.add(counter.labels("/predict"), 3)

    def written():
        return registry.get_sample_value("requests_total", {"endpoint": "/predict"})

    assert written() == 0
    deadline = time.monotonic() + 5
    while written() != 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert written() == 3


def test_no_update_is_lost_to_concurrent_writers_and_flushes():
    registry = CollectorRegistry()
    counter, _, _, histogram = metrics(registry)
    batches = MetricBatches(every=0.001)  # the flusher races the writers all along
    per_thread, threads = 20_000, 4

    def write():
        for _ in range(per_thread):
            batches.add(counter.labels("/predict"))
            batches.observe(histogram.labels("/predict"), 0.005)

    workers = [threading.Thread(target=write) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    batches.flush()
    assert registry.get_sample_value("requests_total", {"endpoint": "/predict"}) == (
        per_thread * threads
    )
    assert registry.get_sample_value("duration_count", {"endpoint": "/predict"}) == (
        per_thread * threads
    )


def test_a_level_is_read_at_each_flush_and_left_alone_while_it_is_none():
    registry = CollectorRegistry()
    _, gauge, latest, _ = metrics(registry)
    batches = MetricBatches(every=3600)
    kept = {"in_flight": 0, "last": None}
    batches.level(gauge.labels("/predict"), lambda: kept["in_flight"])
    batches.level(latest, lambda: kept["last"])
    latest.set(-1)
    kept["in_flight"] = 3
    batches.flush()
    assert registry.get_sample_value("in_progress", {"endpoint": "/predict"}) == 3
    assert registry.get_sample_value("last_request") == -1  # None: not set
    kept["in_flight"], kept["last"] = 1, 1234.5
    batches.flush()
    assert registry.get_sample_value("in_progress", {"endpoint": "/predict"}) == 1
    assert registry.get_sample_value("last_request") == 1234.5


def test_a_forked_child_flushes_its_own_updates_with_a_flusher_of_its_own():
    registry = CollectorRegistry()
    counter, *_ = metrics(registry)
    batches = MetricBatches(every=3600)
    batches.add(counter.labels("/predict"))  # pending in the parent, its flusher asleep
    pid = os.fork()
    if pid == 0:  # the child: its own updates are written without a flush by hand, and only them
        batches.every = 0.05
        batches.add(counter.labels("/predict"), 10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if registry.get_sample_value("requests_total", {"endpoint": "/predict"}) >= 10:
                time.sleep(0.2)  # a few more flushes: the parent's 1 must not come
                value = registry.get_sample_value("requests_total", {"endpoint": "/predict"})
                os._exit(0 if value == 10 else 2)
            time.sleep(0.02)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    batches.flush()
    assert registry.get_sample_value("requests_total", {"endpoint": "/predict"}) == 1


def test_a_child_that_fails_to_update_is_skipped_and_flushing_goes_on():
    registry = CollectorRegistry()
    counter, gauge, *_ = metrics(registry)
    batches = MetricBatches(every=0.05)
    failures = iter([RuntimeError("disk full")])

    def read():
        for failure in failures:
            raise failure
        return 2

    batches.level(gauge.labels("/predict"), read)
    batches.add(counter.labels("/predict"), 5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (
        registry.get_sample_value("in_progress", {"endpoint": "/predict"}) != 2
    ):
        time.sleep(0.02)
    assert registry.get_sample_value("requests_total", {"endpoint": "/predict"}) == 5
    assert registry.get_sample_value("in_progress", {"endpoint": "/predict"}) == 2
