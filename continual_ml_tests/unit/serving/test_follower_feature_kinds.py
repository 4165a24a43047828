"""Serving a dataset with boolean and nullable features: schema, smoke row, scoring."""

import pytest
from pydantic import ValidationError

from continual_ml.serving.follower import ChampionFollower, predict_rows, smoke_row
from continual_ml.serving.request_schema import MAX_CATEGORY_CHARS, row_schema
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml_tests.support.exported_models import export_champion
from continual_ml_tests.support.feature_kinds import CONFIG, labelled_rows


@pytest.fixture(scope="module")
def rows():
    return labelled_rows()


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
