"""The estimators of `task: regression`: each configured family's regressor, its search space
and how the search scores it.

The families keep their names across tasks: ``logistic_regression`` is the linear family, a
ridge regression for a number (an L2-penalised linear model, as logistic regression is by
default); the trees become their regressors with the same settings. The pipeline's last step
keeps the name ``classifier`` for both tasks, so that what reads a fitted model's settings
(`window.training_params`, the search spaces) reads either.
"""

from __future__ import annotations

from continual_ml.config import DatasetConfig

# The linear family's penalty is named otherwise; the trees search the same space either way.
LINEAR_SEARCH_SPACE = {"classifier__alpha": [0.1, 1.0, 10.0, 100.0]}

# What the time-ordered search maximises: the gate's error, negated as scikit-learn wants.
SEARCH_SCORING = {
    "absolute_error": "neg_mean_absolute_error",
    "squared_error": "neg_mean_squared_error",
}


def search_scoring(config: DatasetConfig) -> str:
    return SEARCH_SCORING[config.policy.gate_metric]
