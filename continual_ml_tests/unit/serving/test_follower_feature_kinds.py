"""Serving a dataset with boolean and nullable features: schema, smoke row, scoring."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from continual_ml.config import DatasetConfig
from continual_ml.models.store import export_champion
from continual_ml.serving.follower import ChampionFollower, predict_rows, smoke_row
from continual_ml.serving.request_schema import MAX_CATEGORY_CHARS, row_schema
from continual_ml.training.pipeline import fit_candidate, serialize_model

CONFIG = DatasetConfig.model_validate(
    {
        "name": "kinds",
        "features": [
            {"name": "amount", "kind": "numeric", "nullable": True, "min": 1, "max": 1000},
            {"name": "flag", "kind": "boolean"},
            {"name": "segment", "kind": "categorical", "categories": ["a", "b"]},
        ],
    }
)


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    n = 400
    flag = rng.random(n) < 0.5
    amount = rng.uniform(1, 1000, n)
    amount[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "row_id": [f"r{i}" for i in range(n)],
            "event_time": pd.date_range("2026-01-01", periods=n, freq="min"),
            "amount": amount,
            "flag": flag,
            "segment": rng.choice(["a", "b"], n),
            "label": (flag ^ (rng.random(n) < 0.1)).astype(int),
        }
    )


def test_the_smoke_row_has_a_value_of_every_kind_within_bounds():
    assert smoke_row(CONFIG) == {"amount": 1.0, "flag": False, "segment": "a"}


def test_the_request_schema_takes_json_booleans_and_null_where_allowed():
    schema = row_schema(CONFIG)
    assert schema.model_validate({"amount": None, "flag": True, "segment": "b"})
    for wrong in (
        {"amount": 5.0, "flag": "true", "segment": "a"},  # a string is not a boolean
        {"amount": 5.0, "flag": 1, "segment": "a"},  # nor is a number
        {"amount": 5.0, "flag": None, "segment": "a"},  # flag is not nullable
        {"amount": 0.5, "flag": True, "segment": "a"},  # below min
        {"amount": 5.0, "flag": True, "segment": None},
    ):
        with pytest.raises(ValidationError):
            schema.model_validate(wrong)


def test_mapped_categories_are_bounded_in_length():
    schema = row_schema(CONFIG, "map")
    assert schema.model_validate({"amount": 2.0, "flag": True, "segment": "c" * MAX_CATEGORY_CHARS})
    with pytest.raises(ValidationError, match="at most"):
        schema.model_validate({"amount": 2.0, "flag": True, "segment": "c" * 1_000_000})


@pytest.mark.parametrize(
    "family", ["logistic_regression", "random_forest", "hist_gradient_boosting"]
)
def test_a_model_with_boolean_and_nullable_features_loads_and_scores(tmp_path, rows, family):
    config = CONFIG.model_copy(update={"model": CONFIG.model.model_copy(update={"family": family})})
    artifact, sha256 = serialize_model(fit_candidate(config, rows))
    export_champion(tmp_path, config, 1, artifact, sha256)
    follower = ChampionFollower(tmp_path, config)
    assert follower.refresh(), follower.last_error
    model = follower.current
    answers = predict_rows(
        model,
        config,
        [
            {"amount": 10.0, "flag": True, "segment": "a"},
            {"amount": None, "flag": False, "segment": "b"},  # the pipeline imputes it
        ],
    )
    assert [a["predicted_class"] for a in answers] == [1, 0]
    assert all(0 <= p <= 1 for a in answers for p in a["probabilities"].values())
