"""The fast scorer of a regression's linear family (a ridge): the pipeline's numbers, or none."""

import numpy as np
import pandas as pd
import pyarrow as pa

from continual_ml.serving.follower import probe_rows
from continual_ml.serving.linear_scorer import linear_scorer
from continual_ml.training.pipeline import fit_candidate
from continual_ml_tests.support.regression_data import regression_config, regression_days


def days(start: str, seed: int) -> pd.DataFrame:
    rows = regression_days(start, 2, seed=seed)
    return rows.rename(columns={"sale_id": "row_id", "sold_at": "event_time"})


def test_a_ridge_is_scored_by_numpy_as_its_pipeline_scores_it():
    config = regression_config()
    pipeline = fit_candidate(config, days("2026-03-01", 1))
    scorer = linear_scorer(pipeline, config, probe_rows(config))
    assert scorer is not None
    fresh = days("2026-03-05", 2)[config.feature_names]
    expected = pipeline.predict(fresh)
    records = fresh.to_dict("records")
    np.testing.assert_allclose(scorer.values(records), expected, rtol=1e-9)
    one_by_one = [scorer.value_one(r) for r in records]
    np.testing.assert_allclose(one_by_one, expected, rtol=1e-9)
    columns = {name: fresh[name].to_numpy(dtype=float) for name in ("x0", "x1")}
    columns["segment"] = pa.array(fresh["segment"].tolist(), pa.string())
    by_columns = scorer.values_columns(columns, np.arange(len(fresh)))
    np.testing.assert_allclose(by_columns, expected, rtol=1e-9)


def test_a_value_beyond_float64_is_infinite_not_wrong():
    config = regression_config()
    scorer = linear_scorer(fit_candidate(config, days("2026-03-01", 1)), config, probe_rows(config))
    value = scorer.value_one({"x0": 1e308, "x1": -1e308, "segment": "north"})
    assert np.isinf(value)


def test_other_regressors_keep_the_general_path():
    forest = regression_config("random_forest")
    pipeline = fit_candidate(forest, days("2026-03-01", 1))
    assert linear_scorer(pipeline, forest, probe_rows(forest)) is None
