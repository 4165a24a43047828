"""The regression plots draw from the candidate alone or both models, refuse bad input, and stay
light on large holdouts."""

import numpy as np
import pytest

from continual_ml.training.regression_plots import predicted_vs_actual_png, residuals_png

PNG = b"\x89PNG"


@pytest.mark.parametrize("plot", [predicted_vs_actual_png, residuals_png])
def test_each_plot_draws_one_or_two_models(plot):
    rng = np.random.default_rng(0)
    truth = rng.normal(size=300)
    alone = plot(truth, truth + rng.normal(size=300))
    both = plot(truth, truth + rng.normal(size=300), truth)
    assert alone.startswith(PNG) and both.startswith(PNG) and alone != both


@pytest.mark.parametrize("plot", [predicted_vs_actual_png, residuals_png])
def test_a_large_holdout_is_thinned_not_drawn_whole(plot):
    rng = np.random.default_rng(1)
    truth = rng.normal(size=50_000)
    assert len(plot(truth, truth + rng.normal(size=50_000))) < 400_000


def test_non_finite_predictions_are_refused():
    with pytest.raises(ValueError, match="finite"):
        predicted_vs_actual_png([1.0, 2.0], [1.0, np.inf])
