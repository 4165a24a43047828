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

REGRESSION_SEARCH_SPACES = {
    "logistic_regression": {"classifier__alpha": [0.1, 1.0, 10.0, 100.0]},
    "random_forest": {
        "classifier__max_depth": [None, 8, 16],
        "classifier__min_samples_leaf": [1, 5, 20],
    },
    "hist_gradient_boosting": {
        "classifier__learning_rate": [0.03, 0.1, 0.3],
        "classifier__max_leaf_nodes": [15, 31, 63],
    },
    "lightgbm": {
        "classifier__learning_rate": [0.03, 0.1, 0.3],
        "classifier__num_leaves": [15, 31, 63],
    },
}

# What the time-ordered search maximises: the gate's error, negated as scikit-learn wants.
SEARCH_SCORING = {
    "absolute_error": "neg_mean_absolute_error",
    "squared_error": "neg_mean_squared_error",
}


def build_regressor(config: DatasetConfig):
    """The regressor of `config.model.family`, seeded by `config.model.random_state`.

    >>> from continual_ml.config import DatasetConfig
    >>> config = DatasetConfig(
    ...     name="d", task="regression", features=[{"name": "x", "kind": "numeric"}]
    ... )
    >>> type(build_regressor(config)).__name__
    'Ridge'
    """
    family, seed = config.model.family, config.model.random_state
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import Ridge

    if family == "logistic_regression":
        return Ridge(alpha=1.0)
    if family == "random_forest":
        # n_jobs=1: training shares two cores with the service, and the bytes stay reproducible.
        return RandomForestRegressor(
            n_estimators=200, min_samples_leaf=5, random_state=seed, n_jobs=1
        )
    if family == "hist_gradient_boosting":
        return HistGradientBoostingRegressor(random_state=seed)
    try:
        from lightgbm import LGBMRegressor
    except ImportError as error:
        raise ValueError("model.family lightgbm needs the optional `lightgbm` package") from error
    return LGBMRegressor(random_state=seed, n_jobs=1, verbose=-1)


def search_scoring(config: DatasetConfig) -> str:
    return SEARCH_SCORING[config.policy.gate_metric]
