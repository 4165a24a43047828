"""The ingestion benchmark against the issue's targets: half DuckDB's bare copy, flat memory."""

import pytest

from benchmarks import ingestion as bench
from continual_ml_tests.support.bench_runs import results_of

ROWS, SMALL_ROWS = 10_000_000, 1_000_000
pytestmark = pytest.mark.timeout(1800)


# the generated files are cached in the temp directory between runs (`bench.CACHE`)
results = results_of(bench, rows=ROWS, small_rows=SMALL_ROWS, csv_rows=1_000_000)


def test_every_row_of_every_file_is_ingested(results):
    for row in results["comparison"]:
        assert row["ingest_file"]["rows"] == row["ceiling"]["rows"] == row["rows"]
        assert row["ingest_file"]["quarantined"] == 0


def test_parquet_ingestion_runs_at_least_half_as_fast_as_the_bare_copy(results):
    [large] = [r for r in results["comparison"] if r["format"] == "parquet" and r["rows"] == ROWS]
    ours, ceiling = large["ingest_file"]["rows_per_s"], large["ceiling"]["rows_per_s"]
    assert ours >= 0.5 * ceiling, f"ingest_file {ours:,.0f} rows/s, ceiling {ceiling:,.0f} rows/s"
    # the same in CPU seconds, which other work on the machine disturbs less than wall time
    assert large["cpu_ratio"] >= 0.5, large


def test_peak_memory_does_not_grow_with_the_file(results):
    peaks = {
        r["rows"]: r["ingest_file"]["peak_rss_mb"]
        for r in results["comparison"]
        if r["format"] == "parquet"
    }
    assert peaks[ROWS] <= 1.5 * peaks[SMALL_ROWS], peaks
