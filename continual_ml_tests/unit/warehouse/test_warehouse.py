from datetime import date

import pytest

from continual_ml.warehouse import registry
from continual_ml.warehouse.labelled_rows import LABELLED_PARTITIONS_SQL


def test_the_registry_has_one_champion_and_keeps_history(conn):
    assert registry.current_champion(conn) is None
    for _ in range(2):
        registry.register_model(
            conn,
            partition_date=date(2026, 1, 3),
            sha256="ab",
            artifact=b"x",
            family="lr",
            params="{}",
            features="[]",
            training_start=date(2026, 1, 1),
            training_end=date(2026, 1, 3),
            n_train=1,
            data_sha256="cd",
        )
    registry.set_status(conn, 1, "champion", "first", promoted_by="test")
    registry.record_promotion(
        conn,
        candidate_version=1,
        action="promoted",
        reason="first",
        actor="test",
        champion_version=1,
    )
    registry.record_decision(conn, 2, "rejected", "rejected", "worse", "test")
    assert registry.current_champion(conn)["version"] == 1
    assert registry.load_model_row(conn, 2)["status"] == "rejected"
    assert registry.latest_model_for(conn, date(2026, 1, 3))["version"] == 2
    assert conn.execute(
        "SELECT action, champion_version FROM promotions ORDER BY id"
    ).fetchall() == [("promoted", 1), ("rejected", 1)]
    registry.set_status(conn, 2, "champion", "forced")
    with pytest.raises(RuntimeError, match="2 champions"):
        registry.current_champion(conn)


def trained_on(conn, start, end):
    return registry.register_model(
        conn,
        partition_date=end,
        sha256="ab",
        artifact=b"x",
        family="lr",
        params="{}",
        features="[]",
        training_start=start,
        training_end=end,
        n_train=1,
        data_sha256="cd",
    )


def test_drift_is_judged_against_the_newest_window_the_champion_proved_itself_on(conn):
    champion_version = trained_on(conn, date(2026, 1, 6), date(2026, 1, 8))
    registry.set_status(conn, champion_version, "champion", "first", promoted_by="test")
    champion = registry.current_champion(conn)
    assert registry.known_window(conn, champion) == (date(2026, 1, 6), date(2026, 1, 8))
    statistics = {"metric": "accuracy", "improvement_sd": 0.01}
    for start, end, passed, details in (
        (date(2026, 1, 8), date(2026, 1, 10), False, statistics),  # refused: it is as good
        (date(2026, 1, 10), date(2026, 1, 12), False, {"reason": "tampered"}),  # no evidence
        (date(2026, 1, 9), date(2026, 1, 11), True, statistics),  # passed, pending approval
    ):
        version = trained_on(conn, start, end)
        registry.record_gate(conn, version, champion_version, passed, "-", details)
    assert registry.known_window(conn, champion) == (date(2026, 1, 8), date(2026, 1, 10))


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM latest_labels",
        "SELECT * FROM observations_with_labels",
        "SELECT * FROM labelled_predictions",
        LABELLED_PARTITIONS_SQL.replace("$1", "1"),
    ],
)
def test_label_reads_join_by_hash_not_by_nested_loops(conn, query):
    """Every monitoring run and feedback ingestion reads labels through these: a nested-loop
    join made each read grow with labels × predictions (4 s at 42,000 of each, a live loop
    falling behind within minutes), where a hash join stays linear (0.15 s)."""
    plan = "".join(row[1] for row in conn.execute(f"EXPLAIN {query}").fetchall())
    assert "HASH_JOIN" in plan
    assert "NL_JOIN" not in plan
