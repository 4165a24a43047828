"""The serving benchmark against the issue's targets: our service next to a bare ASGI app and
FastAPI calling the scikit-learn pipeline, all loaded by wrk (`make bench-tools` installs it)."""

import pytest

from benchmarks import serving

DURATION_S = 4.0  # per case; the full benchmark uses 10


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("bench_serving")
    return serving.run(duration=DURATION_S, output=scratch / "serving.json", workdir=scratch)


def case(results, label, concurrency):
    [row] = [
        r for r in results["comparison"] if r["case"] == label and r["concurrency"] == concurrency
    ]
    return row


def test_both_servers_serve_the_same_model_and_answer_every_case(results):
    assert results["same_probabilities"]
    for row in results["comparison"]:
        for side in ("ours", "bare"):
            assert row[side]["succeeded"] > 0, (row["case"], row["concurrency"], side)


@pytest.mark.parametrize("concurrency", [1, 16])
def test_single_row_throughput_is_at_least_80_percent_of_bare(results, concurrency):
    row = case(results, "/predict", concurrency)
    ours, bare = row["ours"]["requests_per_s"], row["bare"]["requests_per_s"]
    assert ours >= 0.8 * bare, f"ours {ours:.0f} req/s, bare {bare:.0f} req/s"


@pytest.mark.parametrize("concurrency", [1, 16])
def test_single_row_throughput_is_at_least_10_times_fastapi_calling_the_pipeline(
    results, concurrency
):
    row = case(results, "/predict", concurrency)
    ours, plain = row["ours"]["requests_per_s"], row["fastapi"]["requests_per_s"]
    assert row["fastapi"]["failed"] == 0, row["fastapi"]["failures"]
    assert ours >= 10 * plain, f"ours {ours:.0f} req/s, FastAPI + pipeline {plain:.0f} req/s"


@pytest.mark.parametrize(("concurrency", "limit_ms"), [(1, 10.0), (16, 25.0)])
def test_single_row_p99_latency_is_within_target(results, concurrency, limit_ms):
    p99 = case(results, "/predict", concurrency)["ours"]["p99_ms"]
    assert p99 < limit_ms, f"p99 {p99:.1f} ms at concurrency {concurrency}"


@pytest.mark.parametrize("label", ["/predict", "/predict_rows"])
def test_no_request_fails_at_concurrency_64(results, label):
    row = case(results, label, 64)
    assert row["ours"]["succeeded"] > 0
    assert row["ours"]["failed"] == 0, row["ours"]["failures"]


def test_adaptive_batching_merges_concurrent_single_rows(results):
    quiet = case(results, "/predict_rows", 1)["requests_per_merged_call"]
    busy = case(results, "/predict_rows", 64)["requests_per_merged_call"]
    assert quiet == pytest.approx(1.0)  # alone, a request is never kept waiting for company
    assert busy > 2.0, f"{busy:.2f} requests per merged call at concurrency 64"


@pytest.mark.parametrize(
    ("run", "versions"), [("swap_under_load", [2, 3]), ("swap_under_load_adaptive", [4, 5])]
)
def test_two_promotions_under_load_fail_no_request_and_change_the_served_version(
    results, run, versions
):
    swaps = results[run]
    assert swaps["failed"] == 0, swaps["failures"]
    assert [p["version"] for p in swaps["promotions"]] == versions
    assert all(p["seconds_to_serve"] is not None for p in swaps["promotions"])
    assert set(versions) <= set(swaps["versions_first_seen_s"])
    # each worker's requests are sequential, so it may skip a version but never goes back
    for sequence in swaps["worker_version_sequences"]:
        seen = [int(v) for v in sequence.split(">")]
        assert seen == sorted(seen) and seen[-1] == versions[-1], sequence
    assert swaps["served_version_after"] == versions[-1]
