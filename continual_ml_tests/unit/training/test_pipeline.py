import hashlib

import pandas as pd
import pytest

from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.training.pipeline import (
    fit_candidate,
    load_model,
    serialize_model,
    split_window,
    tune,
)


@pytest.fixture
def window(config):
    frames = []
    for index in range(3):
        rows = generate_batch(config, partition_date(config, index))
        rows["partition_date"] = partition_date(config, index)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def test_the_holdout_is_the_newest_rows_of_the_last_partition(window, config):
    split = split_window(window, 0.3)
    assert len(split.holdout) == round(0.3 * config.stream.rows_per_day)
    assert split.holdout["event_time"].min() >= split.train["event_time"].max()
    assert (split.holdout["partition_date"] == partition_date(config, 2)).all()
    assert not set(split.holdout["row_id"]) & set(split.train["row_id"])


def test_same_data_and_seed_give_identical_model_bytes(window, config):
    first, first_hash = serialize_model(fit_candidate(config, window))
    second, second_hash = serialize_model(fit_candidate(config, window))
    assert first_hash == second_hash == hashlib.sha256(first).hexdigest()
    assert first == second


def test_a_model_round_trips_and_predicts_the_same(window, config):
    model = fit_candidate(config, window)
    artifact, sha256 = serialize_model(model)
    loaded = load_model(artifact, sha256)
    features = window[config.feature_names].head(50)
    pd.testing.assert_frame_equal(
        pd.DataFrame(loaded.predict_proba(features)), pd.DataFrame(model.predict_proba(features))
    )


def test_tampered_bytes_are_refused(window, config):
    artifact, sha256 = serialize_model(fit_candidate(config, window))
    tampered = artifact[:-1] + bytes([artifact[-1] ^ 1])
    with pytest.raises(ValueError, match="hash"):
        load_model(tampered, sha256)


def test_unlabelled_rows_are_not_trained_on(window, config):
    partly = window.copy()
    partly.loc[: len(partly) // 2, config.label] = None
    model = fit_candidate(config, partly)
    assert model.named_steps["classifier"].n_features_in_ > 0
    # Fitting on the labelled half alone gives the very same model.
    alone = fit_candidate(config, partly[partly[config.label].notna()])
    assert serialize_model(model)[1] == serialize_model(alone)[1]


@pytest.mark.parametrize(
    "family", ["logistic_regression", "random_forest", "hist_gradient_boosting"]
)
def test_each_family_trains_reproducibly_and_beats_chance(window, config, family):
    chosen = config.model_copy(update={"model": config.model.model_copy(update={"family": family})})
    split = split_window(window, 0.3)
    first, first_hash = serialize_model(fit_candidate(chosen, split.train))
    assert serialize_model(fit_candidate(chosen, split.train))[1] == first_hash
    model = load_model(first, first_hash)
    predicted = model.predict(split.holdout[config.feature_names])
    assert (predicted == split.holdout[config.label]).mean() > 0.8


def test_time_ordered_search_never_validates_on_the_past(window, config):
    settings = config.model.model_copy(update={"search": True, "search_iterations": 2})
    searching = config.model_copy(update={"model": settings})
    train = split_window(window, 0.3).train.sort_values(["event_time", "row_id"])
    search = tune(searching, train[config.feature_names], train[config.label].astype(int))
    times = train["event_time"].to_numpy()
    folds = list(search.cv.split(train))
    assert len(folds) == config.model.cv_splits
    for fit_rows, validate_rows in folds:
        assert times[fit_rows].max() <= times[validate_rows].min()
    assert set(search.best_params_) == {"classifier__C"}
    tuned = fit_candidate(searching, train)
    assert tuned.named_steps["classifier"].C == search.best_params_["classifier__C"]


def small_days(window, per_day=165):
    return window.groupby("partition_date", group_keys=False).head(per_day)


def test_on_small_days_the_holdout_reaches_its_minimum_from_recent_partitions(window, config):
    rows = small_days(window)  # 165 rows a day: half of the last day would be 82 rows
    assert len(split_window(rows, 0.5).holdout) == 82
    split = split_window(rows, 0.5, min_rows=200)
    assert len(split.holdout) == 200
    assert split.holdout["event_time"].min() >= split.train["event_time"].max()
    assert split.holdout["partition_date"].nunique() == 2
    # never more than half the window, so the candidate keeps rows to learn from
    assert len(split_window(rows, 0.5, min_rows=400).holdout) == len(rows) // 2


def test_the_holdout_never_reaches_into_the_champions_training_days(window, config):
    rows = small_days(window)
    champion_end = partition_date(config, 1)  # the champion trained up to the second day
    split = split_window(rows, 0.5, min_rows=200, unseen_from=champion_end + pd.Timedelta(days=1))
    assert len(split.holdout) == 165  # the whole last day, and nothing before it
    assert (split.holdout["partition_date"] == partition_date(config, 2)).all()
