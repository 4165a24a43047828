"""The file-scoring benchmark at a small size: every route answers every row with the plain
pipeline's probabilities (checked inside the run), and the ratios hold."""

import pytest

from benchmarks import file_scoring as bench
from continual_ml_tests.support.bench_runs import results_of

ROWS, LARGE_ROWS = 200_000, 1_000_000
pytestmark = pytest.mark.timeout(1800)

results = results_of(bench, rows=ROWS, large_rows=LARGE_ROWS)


def figures(results, case: str, rows: int, file_format: str) -> dict:
    [found] = [
        r
        for r in results["results"]
        if r["case"] == case and r["rows"] == rows and r["file"].endswith(file_format)
    ]
    return found


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_scoring_a_file_takes_less_cpu_than_the_plain_pandas_loop(results, file_format):
    plain = figures(results, "pandas_sklearn", ROWS, file_format)["cpu_seconds"]
    # whole processes, imports included: the local command against the plain script
    assert figures(results, "local", ROWS, file_format)["cpu_seconds"] < plain
    # the service's own CPU for the whole file in one request
    assert figures(results, "score_file", ROWS, file_format)["server_cpu_seconds"] < plain


def test_memory_does_not_grow_with_the_file(results):
    for case in ("local", "local_parquet"):
        small = figures(results, case, ROWS, "parquet")["peak_rss_mb"]
        large = figures(results, case, LARGE_ROWS, "parquet")["peak_rss_mb"]
        assert large <= 1.5 * small, (case, small, large)
    # The service holds one piece of the file at a time, whatever the file's size.
    small = figures(results, "score", ROWS, "parquet")["server_peak_rss_mb"]
    large = figures(results, "score", LARGE_ROWS, "parquet")["server_peak_rss_mb"]
    assert large <= 1.5 * small, (small, large)
