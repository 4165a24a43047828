"""The gate's refusals that happen before any statistics: tampered bytes, another signature."""

from continual_ml.decisions.gate_verdict import judge
from continual_ml.warehouse import registry
from continual_ml_tests.support.registered_models import registered


def model(version, artifact=b"bytes", sha256=None, features=(("x0", "numeric"),)):
    import hashlib

    return {
        "version": version,
        "artifact": artifact,
        "sha256": sha256 or hashlib.sha256(artifact).hexdigest(),
        "features": [list(f) for f in features],
    }


def test_a_tampered_artifact_is_refused_even_without_a_champion(conn, config):
    passed, reason, _ = judge(conn, config, model(1, sha256="0" * 64), None)
    assert not passed and "hash" in reason


def test_the_first_model_passes(conn, config):
    assert judge(conn, config, model(1), None)[:2] == (
        True,
        "no champion yet: the first model is promoted",
    )


def test_a_different_feature_signature_is_refused(conn, config):
    candidate = model(2, features=(("x0", "numeric"), ("x9", "numeric")))
    passed, reason, _ = judge(conn, config, candidate, model(1))
    assert not passed and "signature" in reason and "x9" in reason


def test_scores_against_another_champion_are_refused(conn, config):
    conn.execute("INSERT INTO holdout_predictions VALUES (2, 'r1', 1, 0.9, 5, 0.4)")
    passed, reason, _ = judge(conn, config, model(2), model(1))
    assert not passed and "current champion v1" in reason
    assert registry.holdout_predictions(conn, 2)["champion_version"].tolist() == [5]


def scored_against(conn, candidate, champion, only_candidate, only_champion, both=1200):
    """Holdout rows on which exactly these many are right for one of the two models only."""
    import pandas as pd

    outcomes = [(1, 1)] * both + [(1, 0)] * only_candidate + [(0, 1)] * only_champion
    holdout = pd.DataFrame(
        {
            "candidate_version": candidate["version"],
            "row_id": [f"v{candidate['version']}-r{i:05d}" for i in range(len(outcomes))],
            "truth": 1,
            "candidate_proba": [0.9 if c else 0.1 for c, _ in outcomes],
            "champion_version": champion["version"],
            "champion_proba": [0.9 if c else 0.1 for _, c in outcomes],
        }
    )
    from continual_ml.warehouse.sql import insert_frame

    insert_frame(conn, "holdout_predictions", holdout)


def judged(conn, config, candidate, champion):
    """Judge and record the verdict, as the asset check does."""
    passed, reason, details = judge(conn, config, candidate, champion)
    registry.record_gate(conn, candidate["version"], champion["version"], passed, reason, details)
    return passed, reason


def test_a_small_gain_on_one_holdout_keeps_the_candidate_as_a_challenger(conn, config):
    champion = registered(conn, 1, b"champion")
    first = registered(conn, 2, b"v2")
    scored_against(conn, first, champion, only_candidate=80, only_champion=65)
    passed, reason, details = judge(conn, config, first, champion)
    # not significant on 1,345 rows: not refused for good either, it accumulates evidence
    assert not passed and details["outcome"] == "keep" and "stays a challenger" in reason
    # the fixed-sample figures are reported beside the decision
    assert details["candidate_only_correct"] == 80 and "holdout alone" in reason


def test_a_clear_gain_on_one_holdout_is_promoted_at_once(conn, config):
    champion = registered(conn, 1, b"champion")
    first = registered(conn, 2, b"v2")
    scored_against(conn, first, champion, only_candidate=120, only_champion=20)
    passed, reason, details = judge(conn, config, first, champion)
    assert passed and details["outcome"] == "promote" and "lower bound above" in reason


def test_only_disjoint_statistical_refusals_against_the_same_champion_are_pooled(conn, config):
    champion, other = registered(conn, 1, b"champion"), registered(conn, 1, b"other")
    earlier = [registered(conn, day, f"v{day}".encode()) for day in (2, 3, 4, 5)]
    newest = registered(conn, 6, b"newest")
    for candidate in (*earlier, newest):
        scored_against(conn, candidate, champion, only_candidate=80, only_champion=65)
    two, three, four, five = earlier
    # v5's holdout is the newest candidate's rows (late labels can do that)
    conn.execute(
        "UPDATE holdout_predictions SET row_id = replace(row_id, ?, ?) WHERE candidate_version = ?",
        [f"v{five['version']}-", f"v{newest['version']}-", five["version"]],
    )
    for candidate in (five, two, three):  # v5 first, so that it is refused with nothing to pool
        assert not judged(conn, config, candidate, champion)[0]
    registry.record_gate(conn, four["version"], other["version"], False, "other", {})
    registry.record_gate(conn, four["version"] + 10, champion["version"], False, "signature", {})
    pooled = registry.refused_comparisons(
        conn, champion["version"], newest["version"], "accuracy", limit=5
    )
    # v5 shares rows with the newest, v4 was judged against another champion, the signature
    # refusal has no statistics: v3 and v2 remain, newest first
    assert [p["reason"] for p in pooled] == [
        registry.gate_result(conn, v["version"])["details"]["reason"] for v in (three, two)
    ]
    assert (
        registry.refused_comparisons(
            conn, champion["version"], newest["version"], "log_loss", limit=5
        )
        == []
    )
    assert (
        len(
            registry.refused_comparisons(
                conn, champion["version"], newest["version"], "accuracy", limit=1
            )
        )
        == 1
    )


def test_the_holdout_evidence_is_dated_as_its_rows_are(conn, config):
    """With labels late, a candidate for 2026-01-03 holds out rows of 2026-01-01: its paired
    evidence is recorded under that day, before any shadow day, in the order it arrived."""
    from datetime import date, datetime

    champion, candidate = registered(conn, 1, b"champion"), registered(conn, 3, b"v3")
    scored_against(conn, candidate, champion, only_candidate=80, only_champion=65)
    landed = [f"v{candidate['version']}-r{i:05d}" for i in range(1000)]
    conn.executemany(
        "INSERT INTO observations (row_id, partition_date, event_time, batch_id) "
        "VALUES (?, ?, ?, 'b')",
        [(row_id, date(2026, 1, 1), datetime(2026, 1, 1, 12)) for row_id in landed],
    )
    judge(conn, config, candidate, champion)
    dated = conn.execute(
        "SELECT partition_date, count(*) FROM shadow_scores WHERE model_version = ? "
        "GROUP BY 1 ORDER BY 1",
        [candidate["version"]],
    ).fetchall()
    # the rows with no observation keep the candidate's own day
    assert dated == [(date(2026, 1, 1), 1000), (date(2026, 1, 3), 345)]
