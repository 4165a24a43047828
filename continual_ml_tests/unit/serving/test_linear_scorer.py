from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.serving.follower import probe_rows
from continual_ml.serving.linear_scorer import LinearScorer, linear_scorer
from continual_ml.training.pipeline import fit_candidate


@pytest.fixture
def rows(config):
    return pd.concat(generate_batch(config, partition_date(config, i)) for i in (0, 9))


def test_the_linear_scorer_matches_the_pipeline_on_unseen_rows(config, rows):
    pipeline = fit_candidate(config, rows)
    scorer = linear_scorer(pipeline, config, probe_rows(config))
    assert scorer is not None
    fresh = generate_batch(config, partition_date(config, 12))
    records = fresh[config.feature_names].to_dict("records")
    records[0]["segment"] = "unseen"  # mapped to no category, as the encoder does
    frame = pd.DataFrame(records)
    np.testing.assert_allclose(
        scorer.positive_proba(records), pipeline.predict_proba(frame)[:, 1], rtol=0, atol=1e-9
    )


def test_other_families_keep_the_general_path(config, rows):
    forest = config.model_copy(
        update={"model": config.model.model_copy(update={"family": "random_forest"})}
    )
    assert linear_scorer(fit_candidate(forest, rows), forest, probe_rows(config)) is None


@pytest.mark.parametrize("path", ["positive_proba", "positive_proba_one"])
def test_a_scorer_whose_path_disagrees_with_its_pipeline_is_not_used(
    config, rows, monkeypatch, path
):
    """The batch path and the single-row path are each checked against the pipeline."""
    pipeline = fit_candidate(config, rows)
    exact = getattr(LinearScorer, path)
    monkeypatch.setattr(LinearScorer, path, lambda self, given: exact(self, given) + 1e-6)
    assert linear_scorer(pipeline, config, probe_rows(config)) is None


def test_one_row_at_a_time_gives_the_pipeline_probabilities(config, rows):
    pipeline = fit_candidate(config, rows)
    scorer = linear_scorer(pipeline, config, probe_rows(config))
    fresh = generate_batch(config, partition_date(config, 12)).head(200)
    records = fresh[config.feature_names].to_dict("records")
    one_by_one = [scorer.positive_proba_one(record) for record in records]
    np.testing.assert_allclose(
        one_by_one, pipeline.predict_proba(fresh[config.feature_names])[:, 1], rtol=0, atol=1e-9
    )


@pytest.mark.parametrize("extreme", [-1e5, 1e5])
def test_extreme_rows_saturate_instead_of_overflowing(config, rows, extreme):
    scorer = linear_scorer(fit_candidate(config, rows), config, probe_rows(config))
    row = {f.name: extreme if f.kind == "numeric" else f.categories[0] for f in config.features}
    with np.errstate(over="ignore"):
        expected = scorer.positive_proba([row])[0]
    assert expected in (0.0, 1.0)  # far enough out that exp() overflows in one direction
    assert scorer.positive_proba_one(row) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "huge",
    [
        {"x0": 1e308, "x1": 1e308},  # terms of opposite sign that each overflow: inf - inf
        {"x0": -1e308, "x1": -1e308},
        {"x0": 1e308, "x1": 0.9e308},
        {"x0": 1.7e308, "x1": -1.7e308},
    ],
)
def test_overflowing_rows_get_the_probability_their_logit_sign_gives(huge):
    # Weights as steep as a model fitted on two days of the demo stream.
    scorer = LinearScorer(
        ["x0", "x1"],
        np.array([0.5, -0.5]),
        np.array([0.5, 0.4]),
        np.array([5.8, -4.2]),
        [("segment", {"north": 1.4})],
        0.3,
    )
    row = {**huge, "segment": "north"}
    # The logit in exact rational arithmetic: the answer is 0 or 1 by its sign alone.
    exact = (
        Fraction(1.4)
        + Fraction(0.3)
        + sum(
            (Fraction(row[name]) - Fraction(mean)) / Fraction(scale) * Fraction(weight)
            for name, mean, scale, weight in scorer._numeric_terms
        )
    )
    expected = 1.0 if exact > 0 else 0.0
    assert scorer.positive_proba_one(row) == expected
    assert scorer.positive_proba([row, row]).tolist() == [expected, expected]
