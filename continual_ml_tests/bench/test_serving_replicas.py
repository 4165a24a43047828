"""The replica benchmark: one service replica against two behind nginx, at concurrency 64.

On two shared cores a second replica need not add throughput, so no ratio is asserted: what
must hold is that both configurations answer everything and that nginx spreads the load.
"""

import pytest

from benchmarks import serving_replicas

DURATION_S = 6.0  # per case; the full benchmark uses 10


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("bench_replicas")
    return serving_replicas.run(duration=DURATION_S, rounds=3, output=scratch / "replicas.json")


def test_every_configuration_answers_every_request(results):
    for name, row in results["cases"].items():
        assert row["succeeded"] > 0, name
        assert row["failed"] == 0, (name, row["failures"])


def test_nginx_spreads_requests_over_both_replicas(results):
    share = results["share_answered_by_second_replica"]
    assert 0.2 <= share <= 0.8, f"the second replica answered {share:.0%} of the two-replica case"
