"""The types a stored model may contain beyond skops's defaults: those our training produces.

A model's hash proves it is the one the registry recorded, not that what it holds is harmless:
as defence in depth, loading refuses any type outside this list (skops trusts scikit-learn's
estimators and plain containers by default; these are the extra ones our families need), even
in a file whose hash matches. A new model family adds its types here, and the test that trains
every family fails until it does.
"""

from __future__ import annotations

ALLOWED_TYPES = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",  # random_forest
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        # hist_gradient_boosting with native categories keeps a FunctionTransformer of
        # `partial(check_array, ...)`; the wrapped function is checked on its own, so a partial
        # of anything outside this list is still refused.
        "functools.partial",
        "sklearn.utils.validation.check_array",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "lightgbm.basic.Booster",
        "collections.OrderedDict",  # lightgbm's parameters
    }
)


def allowed_types(declared: list[str]) -> list[str]:
    """`declared` (the non-default types a skops file names), if every one is allowed."""
    refused = sorted(set(declared) - ALLOWED_TYPES)
    if refused:
        raise ValueError(f"model file holds types our training never produces: {refused[:5]}")
    return declared
