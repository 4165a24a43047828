"""The gate's refusals that happen before any statistics: tampered bytes, another signature."""

from continual_ml import registry
from continual_ml.defs.training.checks import judge


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
