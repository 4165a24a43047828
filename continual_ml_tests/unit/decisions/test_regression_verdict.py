"""The gate's verdict on a regression candidate, from the holdout rows in the warehouse: the
paired test, a refusal that reads as a decision, pooling with earlier refusals on other rows,
the same model refused, the burden flipped in a shift episode, and the dispatch from `judge`."""

import hashlib
import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from continual_ml.decisions.gate_verdict import judge
from continual_ml.decisions.regression_verdict import judge_regression
from continual_ml.warehouse.regression_evaluations import replace_regression_evaluation
from continual_ml.warehouse.schema import apply_schema
from continual_ml_tests.support.regression_data import regression_config

CONFIG = regression_config()
CHAMPION = {"version": 1, "sha256": "champion"}


@pytest.fixture
def warehouse(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    apply_schema(connection, CONFIG)
    yield connection
    connection.close()


def store_holdout(conn, version: int, seed: int, noise: float, champion_version: int = 1):
    """150 holdout rows of candidate `version`: its error's sd `noise`, the champion's 1."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(10, 3, size=150)
    holdout = pd.DataFrame(
        {
            "candidate_version": version,
            "row_id": [f"v{version}-{i}" for i in range(150)],
            "truth": truth,
            "candidate_prediction": truth + rng.normal(scale=noise, size=150),
            "champion_version": champion_version,
            "champion_prediction": truth + rng.normal(size=150),
        }
    )
    scores = pd.DataFrame(
        [{"partition_date": "2026-03-02", "role": "candidate", "model_version": version}]
    ).assign(slice="all", n=150, candidate_version=version)
    replace_regression_evaluation(conn, version, scores, holdout, {})
    return {"version": version, "sha256": f"v{version}"}


def with_pooling(refusals: int):
    policy = CONFIG.policy.model_copy(update={"gate_pooled_refusals": refusals})
    return CONFIG.model_copy(update={"policy": policy})


def test_a_better_candidate_passes_and_an_equal_one_is_refused_as_a_decision(warehouse):
    better = store_holdout(warehouse, 2, seed=0, noise=0.5)
    passed, reason, details = judge_regression(warehouse, CONFIG, better, CHAMPION)
    assert passed and details["outcome"] == "promote" and details["task"] == "regression"
    equal = store_holdout(warehouse, 3, seed=1, noise=1.0)
    passed, reason, details = judge_regression(warehouse, CONFIG, equal, CHAMPION)
    assert not passed and details["outcome"] == "refuse" and "fails" in reason
    assert details["n"] == 150 and details["improvement_sd"] > 0  # statistics: not "broken"


def test_a_holdout_scored_against_another_champion_is_no_evidence(warehouse):
    stale = store_holdout(warehouse, 2, seed=0, noise=0.5, champion_version=7)
    passed, reason, details = judge_regression(warehouse, CONFIG, stale, CHAMPION)
    assert (passed, details) == (False, {})
    assert "not evaluated against the current champion v1" in reason


def test_the_same_model_as_the_champion_is_refused(warehouse):
    same = store_holdout(warehouse, 2, seed=0, noise=0.5)
    passed, reason, _ = judge_regression(warehouse, CONFIG, same, {"version": 1, "sha256": "v2"})
    assert not passed and reason.startswith("the same model as the champion")


def test_in_a_shift_episode_a_candidate_not_shown_worse_is_promoted(warehouse):
    equal = store_holdout(warehouse, 2, seed=1, noise=1.0)
    passed, reason, details = judge_regression(warehouse, CONFIG, equal, CHAMPION, "2026-03-01")
    assert passed and "not shown worse" in reason and details["shift_onset"] == "2026-03-01"
    worse = store_holdout(warehouse, 3, seed=2, noise=2.0)
    passed, reason, _ = judge_regression(warehouse, CONFIG, worse, CHAMPION, "2026-03-01")
    assert not passed and "shown worse: refused" in reason


def test_earlier_refusals_on_other_rows_are_pooled(warehouse):
    # six candidates each 12 % less noisy than the champion: none passes alone, the newest
    # passes on the evidence of all six
    alone = with_pooling(0)
    for version, seed in zip(range(2, 7), range(11, 16), strict=True):
        model = store_holdout(warehouse, version, seed=seed, noise=0.88)
        passed, reason, details = judge_regression(warehouse, alone, model, CHAMPION)
        assert not passed
        warehouse.execute(
            "INSERT INTO gate_results VALUES (?, 1, false, ?, ?, now())",
            [version, reason, json.dumps(details)],
        )
    newest = store_holdout(warehouse, 7, seed=10, noise=0.88)
    assert not judge_regression(warehouse, alone, newest, CHAMPION)[0]
    passed, reason, details = judge_regression(warehouse, with_pooling(5), newest, CHAMPION)
    assert passed and details["pooled_refusals"] == 5 and "pooled with 5" in reason


def test_judge_sends_a_regression_candidate_to_the_regression_gate(warehouse):
    model = store_holdout(warehouse, 2, seed=0, noise=0.5)
    artifact = b"model bytes"
    features = [["x0", "numeric"]]
    candidate = {
        **model,
        "artifact": artifact,
        "sha256": hashlib.sha256(artifact).hexdigest(),
        "features": features,
    }
    champion = {**CHAMPION, "features": features}
    verdict = judge(warehouse, CONFIG, candidate, champion)
    assert verdict.passed and "signed-rank" in verdict.reason and not verdict.broken


def test_a_growth_candidate_erring_no_more_on_its_holdout_is_promoted(warehouse):
    # 0.97 against the champion's 1: not proven better on 150 rows, but erring a little less
    close = store_holdout(warehouse, 2, seed=4, noise=0.97)
    ordinary = judge_regression(warehouse, CONFIG, close, CHAMPION)
    grown = judge_regression(warehouse, CONFIG, close, CHAMPION, growth=True)
    assert ordinary[2]["improvement"] >= 0 and not ordinary[0]
    assert grown[0] and grown[2]["growth"] is True and "mean improvement at least 0" in grown[1]
    worse = store_holdout(warehouse, 3, seed=5, noise=1.05)
    refused = judge_regression(warehouse, CONFIG, worse, CHAMPION, growth=True)
    assert refused[2]["improvement"] < 0 and not refused[0] and "growth" not in refused[2]
    # through the gate's entry point, the burden eased as the check asks
    artifact, features = b"model bytes", [["x0", "numeric"]]
    sealed = {"artifact": artifact, "sha256": hashlib.sha256(artifact).hexdigest()}
    candidate = {**close, **sealed, "features": features}
    champion = {**CHAMPION, "features": features}
    assert not judge(warehouse, CONFIG, candidate, champion).passed
    dispatched = judge(warehouse, CONFIG, candidate, champion, growth=True)
    assert dispatched.passed and dispatched.details["growth"] is True
