"""The ingestion benchmark across warehouse backends: every row lands in each, and DuckLake's
cost against the DuckDB file stays within what was measured (README, docs/scaling.md)."""

import pytest

from benchmarks import ingestion_backends as bench

ROWS, SMALL_ROWS = 1_000_000, 20_000


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench_backends") / "ingestion_backends.json"
    return bench.run(rows=ROWS, small_rows=SMALL_ROWS, repeat=2, output=output)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_row_lands_once_in_every_backend(results):
    for row in results["comparison"]:
        for case in bench.CASES:
            assert row[case]["rows"] == row[case]["stored"] == row["rows"], (case, row)
