"""A regression evaluation is stored once per candidate (evaluating again replaces it), and the
refusals pooled with a candidate never share a holdout row with it or with each other."""

import json

import duckdb
import pandas as pd
import pytest

from continual_ml.warehouse.regression_evaluations import (
    refused_regression_comparisons,
    regression_holdout,
    replace_regression_evaluation,
)
from continual_ml.warehouse.schema import apply_schema
from continual_ml_tests.support.regression_data import regression_config


@pytest.fixture
def warehouse(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    apply_schema(connection, regression_config())
    yield connection
    connection.close()


def store(conn, version: int, row_ids: list[str], prediction: float = 1.0) -> None:
    holdout = pd.DataFrame(
        {"row_id": row_ids, "truth": 0.0, "candidate_prediction": prediction}
    ).assign(candidate_version=version, champion_version=1, champion_prediction=2.0)
    scores = pd.DataFrame(
        {"partition_date": ["2026-03-02"], "role": "candidate", "model_version": version}
    ).assign(slice="all", n=len(row_ids), mae=prediction, candidate_version=version)
    replace_regression_evaluation(conn, version, scores, holdout, {"mae": prediction})


def test_evaluating_again_replaces_the_rows(warehouse):
    store(warehouse, 2, ["a", "b"])
    store(warehouse, 2, ["a", "b", "c"], prediction=3.0)
    rows = regression_holdout(warehouse, 2)
    assert rows["row_id"].tolist() == ["a", "b", "c"]
    assert set(rows["candidate_prediction"]) == {3.0}
    assert warehouse.execute("SELECT count(*), max(mae) FROM regression_scores").fetchone() == (
        1,
        3.0,
    )


def refuse(conn, version: int, metric: str = "absolute_error") -> None:
    details = {"metric": metric, "improvement_sd": 1.0, "n": 2, "candidate": version}
    conn.execute(
        "INSERT INTO gate_results VALUES (?, 1, false, 'refused', ?, now())",
        [version, json.dumps(details)],
    )


def test_pooled_refusals_share_no_row(warehouse):
    store(warehouse, 2, ["a", "b"])
    store(warehouse, 3, ["b", "c"])  # shares b with 2
    store(warehouse, 4, ["d", "e"])
    store(warehouse, 5, ["e", "f"])  # shares e with the newest
    store(warehouse, 6, ["e", "g"])  # the newest
    for version in (2, 3, 4, 5):
        refuse(warehouse, version)
    refuse(warehouse, 1, metric="squared_error")
    found = refused_regression_comparisons(warehouse, 1, 6, "absolute_error", limit=5)
    # newest first: 5 shares e with 6, 4 shares e too; 3 is kept, then 2 shares b with it
    assert [details["candidate"] for details in found] == [3]
    assert refused_regression_comparisons(warehouse, 1, 6, "absolute_error", limit=0) == []
