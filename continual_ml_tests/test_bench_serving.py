"""The serving benchmark against the issue's targets: our service next to a bare ASGI app."""

import pytest

from benchmarks import serving

DURATION_S = 4.0  # per case; the full benchmark uses 10


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("bench_serving")
    return serving.run(duration=DURATION_S, output=scratch / "serving.json", workdir=scratch)


def case(results, path, concurrency):
    [row] = [
        r for r in results["comparison"] if r["path"] == path and r["concurrency"] == concurrency
    ]
    return row


@pytest.mark.slow
def test_both_servers_serve_the_same_model_and_answer_every_case(results):
    assert results["same_probabilities"]
    for row in results["comparison"]:
        for side in ("ours", "bare"):
            assert row[side]["succeeded"] > 0, (row["path"], row["concurrency"], side)


@pytest.mark.slow
def test_single_row_throughput_is_at_least_60_percent_of_bare_at_concurrency_8(results):
    row = case(results, "/predict", 8)
    ours, bare = row["ours"]["requests_per_s"], row["bare"]["requests_per_s"]
    assert ours >= 0.6 * bare, f"ours {ours:.0f} req/s, bare {bare:.0f} req/s"


@pytest.mark.slow
@pytest.mark.parametrize(("concurrency", "limit_ms"), [(1, 10.0), (16, 25.0)])
def test_single_row_p99_latency_is_within_target(results, concurrency, limit_ms):
    p99 = case(results, "/predict", concurrency)["ours"]["p99_ms"]
    assert p99 < limit_ms, f"p99 {p99:.1f} ms at concurrency {concurrency}"


@pytest.mark.slow
def test_no_request_fails_at_concurrency_64(results):
    row = case(results, "/predict", 64)
    assert row["ours"]["succeeded"] > 0
    assert row["ours"]["failed"] == 0, row["ours"]["failures"]


@pytest.mark.slow
def test_two_promotions_under_load_fail_no_request_and_change_the_served_version(results):
    swaps = results["swap_under_load"]
    assert swaps["failed"] == 0, swaps["failures"]
    assert [p["version"] for p in swaps["promotions"]] == [2, 3]
    assert all(p["seconds_to_serve"] is not None for p in swaps["promotions"])
    assert set(swaps["versions_first_seen_s"]) == {1, 2, 3}
    # each worker's requests are sequential, so it may skip v2 but never goes back
    for sequence in swaps["worker_version_sequences"]:
        versions = [int(v) for v in sequence.split(">")]
        assert versions == sorted(versions) and versions[-1] == 3, sequence
    assert swaps["served_version_after"] == 3
