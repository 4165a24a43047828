"""Each family trains a regressor for `task: regression`: reproducible bytes that load back
(through the same type allow-list as the classifiers), native categories for gradient
boosting, and a time-ordered search scored on the gate's error."""

import numpy as np
import pandas as pd
import pytest

from continual_ml.training.pipeline import (
    build_pipeline,
    fit_candidate,
    load_model,
    serialize_model,
)
from continual_ml_tests.support.regression_data import regression_config, regression_days

FAMILIES = {
    "logistic_regression": "Ridge",
    "random_forest": "RandomForestRegressor",
    "hist_gradient_boosting": "HistGradientBoostingRegressor",
}


@pytest.fixture(scope="module")
def rows():
    days = regression_days("2026-03-01", 2, seed=0)
    return days.assign(
        row_id=days["sale_id"],
        event_time=days["sold_at"],
        partition_date=days["sold_at"].dt.date,
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_trains_a_regressor_that_loads_and_beats_the_mean(rows, family):
    config = regression_config(family)
    model = fit_candidate(config, rows)
    assert type(model.named_steps["classifier"]).__name__ == FAMILIES[family]
    artifact, sha256 = serialize_model(model)
    assert serialize_model(fit_candidate(config, rows)) == (artifact, sha256)
    predicted = load_model(artifact, sha256).predict(rows[config.feature_names])
    assert predicted.dtype == float and np.isfinite(predicted).all()
    error = np.mean(np.abs(predicted - rows["price"]))
    baseline = np.mean(np.abs(rows["price"] - rows["price"].mean()))
    assert error < baseline / 2


def test_gradient_boosting_splits_the_segment_natively():
    pipeline = build_pipeline(regression_config("hist_gradient_boosting"))
    assert pipeline.named_steps["classifier"].get_params()["categorical_features"] == [2]


def test_the_search_is_scored_on_the_gates_error(rows, monkeypatch):
    from sklearn.model_selection import RandomizedSearchCV

    seen = {}
    original = RandomizedSearchCV.fit

    def fit(search, *args, **kwargs):
        seen["scoring"] = search.scoring
        seen["space"] = set(search.param_distributions)
        return original(search, *args, **kwargs)

    monkeypatch.setattr(RandomizedSearchCV, "fit", fit)
    config = regression_config(search=True, search_iterations=2, cv_splits=2)
    fit_candidate(config, rows)
    assert seen == {"scoring": "neg_mean_absolute_error", "space": {"classifier__alpha"}}
    squared = config.model_copy(
        update={"policy": config.policy.model_copy(update={"gate_metric": "squared_error"})}
    )
    fit_candidate(squared, rows)
    assert seen["scoring"] == "neg_mean_squared_error"


def test_labels_are_fitted_as_numbers_not_classes(rows):
    model = fit_candidate(regression_config(), rows.assign(price=rows["price"] + 0.5))
    assert not hasattr(model, "classes_")
    assert isinstance(model.predict(pd.DataFrame(rows.head(1)))[0], float)
