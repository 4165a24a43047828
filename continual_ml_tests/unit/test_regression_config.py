"""`task: regression` in the dataset config: no classes, a DOUBLE label, an error gate metric,
and clear refusals of what does not fit a number."""

import pytest
from pydantic import ValidationError

from continual_ml.config import DatasetConfig

FEATURES = [{"name": "x", "kind": "numeric"}]


def config(**values) -> DatasetConfig:
    return DatasetConfig.model_validate({"name": "prices", "features": FEATURES, **values})


def test_classification_stays_the_default():
    plain = config()
    assert (plain.task, plain.regression, plain.classes, plain.label_sql_type) == (
        "classification",
        False,
        (0, 1),
        "BIGINT",
    )
    assert plain.policy.gate_metric == "accuracy"


def test_a_regression_config_has_no_classes_a_double_label_and_compares_errors():
    numeric = config(task="regression")
    assert numeric.regression and not numeric.binary
    assert (numeric.classes, numeric.label_sql_type) == ((), "DOUBLE")
    assert numeric.policy.gate_metric == "absolute_error"
    squared = config(task="regression", policy={"gate_metric": "squared_error"})
    assert squared.policy.gate_metric == "squared_error"


def test_a_regression_config_survives_its_own_dump():
    numeric = config(task="regression", policy={"min_improvement": 0.1})
    again = DatasetConfig.model_validate(numeric.model_dump())
    assert again == numeric


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"task": "regression", "classes": [0, 1]}, "`classes` is for classification"),
        ({"task": "regression", "policy": {"gate_metric": "accuracy"}}, "does not fit"),
        ({"policy": {"gate_metric": "absolute_error"}}, "does not fit `task: classification`"),
        ({"task": "forecast"}, "task"),
    ],
)
def test_what_does_not_fit_the_task_is_refused_clearly(values, message):
    with pytest.raises(ValidationError, match=message):
        config(**values)
