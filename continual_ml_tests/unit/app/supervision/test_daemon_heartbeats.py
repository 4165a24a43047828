"""The daemon's liveness from its heartbeats: a daemon that has written none yet is given
`stale_seconds` from its start, then counts as hung."""

from continual_ml.app.supervision.daemon_heartbeats import DaemonHeartbeats


def test_a_daemon_without_heartbeats_is_fresh_only_within_its_start_allowance(tmp_path):
    now = 1_000_000.0
    heartbeats = DaemonHeartbeats(tmp_path, stale_seconds=45, clock=lambda: now)
    assert heartbeats.age(now - 10) == 10
    assert heartbeats.fresh(now - 10)
    assert not heartbeats.fresh(now - 46)
    assert heartbeats.fresh(None)  # nothing known: no restart on a guess
