"""The ingestion benchmark against the issue's targets: half DuckDB's bare copy, and memory
that grows with the file about as that copy's does."""

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


def test_peak_memory_grows_no_more_than_duckdbs_own_copy(results):
    """Ten times the rows: our peak grows at most a quarter more than DuckDB's bare copy of the
    same file under the same `memory_limit` (on DuckDB 1.4 that copy's own peak grows too,
    about 1.8 times), and far less than the file."""
    peaks = {
        r["rows"]: {case: r[case]["peak_rss_mb"] for case in ("ingest_file", "ceiling")}
        for r in results["comparison"]
        if r["format"] == "parquet"
    }
    ours = peaks[ROWS]["ingest_file"] / peaks[SMALL_ROWS]["ingest_file"]
    copy = peaks[ROWS]["ceiling"] / peaks[SMALL_ROWS]["ceiling"]
    assert ours <= 1.25 * copy and ours < 3, peaks
