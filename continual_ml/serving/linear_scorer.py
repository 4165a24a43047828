"""A validation-free scorer for linear champions, checked against the pipeline it replaces.

scikit-learn re-validates its input on every call, which costs milliseconds for one row while
the arithmetic of a logistic regression costs microseconds. The service's requests are already
validated by their schema, so for a (scaler + one-hot) -> logistic regression pipeline the same
probabilities are computed directly with numpy, and for a (scaler + one-hot) -> ridge pipeline (a
regression's linear family) the same numbers. Any other pipeline keeps the slow, general path.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from continual_ml.config import DatasetConfig

TOLERANCE = 1e-9
# A row whose logit overflows float64 (features near ±1e308) is summed again at 2**-SHIFT scale:
# its sign, which is all a probability of exactly 0 or 1 needs, survives the rescaling.
SHIFT = 512


class LinearScorer:
    """Class-1 probabilities of a binary logistic-regression pipeline from plain row dicts, or
    the numbers of a ridge pipeline (`values`: the linear function, a logit for a classifier)."""

    def __init__(self, numeric, mean, scale, numeric_weights, categorical, intercept):
        self.numeric, self.categorical = numeric, categorical
        self.mean, self.scale, self.numeric_weights = mean, scale, numeric_weights
        self.intercept = intercept
        # One row is scored in plain Python: numpy's per-call overhead is ten times the arithmetic.
        self._numeric_terms = [
            (name, float(m), float(s), float(w))
            for name, m, s, w in zip(numeric, mean, scale, numeric_weights, strict=True)
        ]

    def positive_proba(self, rows: list[dict]) -> np.ndarray:
        return expit(self.values(rows))

    def values(self, rows: list[dict]) -> np.ndarray:
        """The linear function of each row; ±inf where it is beyond float64's range."""
        values = np.array([[row[name] for name in self.numeric] for row in rows], dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            logit = self.intercept + ((values - self.mean) / self.scale) @ self.numeric_weights
            for name, weights in self.categorical:
                logit += np.array([weights.get(row[name], 0.0) for row in rows])
        for i in np.flatnonzero(~np.isfinite(logit)):
            logit[i] = self._rescaled_logit(rows[i])
        return logit

    def positive_proba_columns(self, columns: dict, rows: np.ndarray) -> np.ndarray:
        """Class-1 probabilities of `rows` (indices) of a file's checked columns: numbers as
        float64 arrays, categories as Arrow text arrays, no value missing."""
        return expit(self.values_columns(columns, rows))

    def values_columns(self, columns: dict, rows: np.ndarray) -> np.ndarray:
        """The linear function of `rows` of checked columns (as `positive_proba_columns`)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        values = np.column_stack([columns[name][rows] for name in self.numeric])
        with np.errstate(over="ignore", invalid="ignore"):
            logit = self.intercept + ((values - self.mean) / self.scale) @ self.numeric_weights
            for name, weights in self.categorical:
                known = pa.array(list(weights), pa.string())
                codes = pc.index_in(columns[name].take(pa.array(rows)), value_set=known)
                # An unknown category (taken under `map`) has no weight: all-zero one-hot.
                table = np.append(np.fromiter(weights.values(), float, len(weights)), 0.0)
                logit += table[pc.fill_null(codes, len(weights)).to_numpy(zero_copy_only=False)]
        for i in np.flatnonzero(~np.isfinite(logit)):
            row = {name: columns[name][rows[i]] for name in self.numeric}
            for name, _ in self.categorical:
                row[name] = columns[name][int(rows[i])].as_py()
            logit[i] = self._rescaled_logit(row)
        return logit

    def positive_proba_one(self, row: dict) -> float:
        """The class-1 probability of one row, equal to `positive_proba([row])[0]`."""
        logit = self.value_one(row)
        if logit >= 0:
            return 1.0 / (1.0 + math.exp(-logit))
        tail = math.exp(logit)  # the same value without overflowing for very negative logits
        return tail / (1.0 + tail)

    def value_one(self, row: dict) -> float:
        """The linear function of one row, equal to `values([row])[0]`."""
        logit = self.intercept
        for name, mean, scale, weight in self._numeric_terms:
            logit += (row[name] - mean) / scale * weight
        for name, weights in self.categorical:
            logit += weights.get(row[name], 0.0)
        if not math.isfinite(logit):
            logit = self._rescaled_logit(row)
        return logit

    def _rescaled_logit(self, row: dict) -> float:
        """The logit of a row whose terms overflow, as ±inf when it is beyond float64's range.

        Terms of opposite sign that each overflow (inf - inf) would otherwise give NaN.
        """
        terms = [math.ldexp(self.intercept, -SHIFT)]
        for name, mean, scale, weight in self._numeric_terms:
            shifted = math.ldexp(row[name], -SHIFT) - math.ldexp(mean, -SHIFT)
            terms.append(shifted / scale * weight)
        for name, weights in self.categorical:
            terms.append(math.ldexp(weights.get(row[name], 0.0), -SHIFT))
        scaled = math.fsum(terms)
        try:
            return math.ldexp(scaled, SHIFT)
        except OverflowError:
            return math.copysign(math.inf, scaled)


def _steps(pipeline: Pipeline, regression: bool):
    # The final step is called `classifier` whatever the task (`training.pipeline`).
    classifier = pipeline.named_steps.get("classifier")
    preprocess = pipeline.named_steps.get("preprocess")
    if regression:
        if not isinstance(classifier, Ridge) or np.ndim(classifier.coef_) != 1:
            return None
    elif not isinstance(classifier, LogisticRegression) or len(classifier.classes_) != 2:
        return None
    transformers = dict((name, (step, cols)) for name, step, cols in preprocess.transformers_)
    numeric_step, numeric = transformers.get("numeric", (None, []))
    categorical_step, categorical = transformers.get("categorical", (None, []))
    scaler = numeric_step.steps[-1][1] if numeric_step is not None else None
    encoder = categorical_step.steps[-1][1] if categorical_step is not None else None
    if not isinstance(scaler, StandardScaler) or not isinstance(encoder, OneHotEncoder):
        return None
    return classifier, list(numeric), scaler, list(categorical), encoder


def linear_scorer(
    pipeline: Pipeline, config: DatasetConfig, probe: pd.DataFrame
) -> LinearScorer | None:
    """A fast scorer equal to `pipeline` on `probe` within 1e-9, or None where it cannot be.

    Only binary [0, 1] classifiers and ridge regressions have one: any other classes take the
    pipeline's path. A regression's numbers are compared with a relative tolerance as well.
    """
    if not (config.binary or config.regression):
        return None
    steps = _steps(pipeline, config.regression)
    if steps is None:
        return None
    classifier, numeric, scaler, categorical, encoder = steps
    coef = classifier.coef_ if config.regression else classifier.coef_[0]
    intercept = classifier.intercept_ if config.regression else classifier.intercept_[0]
    n_numeric = len(numeric)
    offset = n_numeric
    per_category = []
    for name, categories in zip(categorical, encoder.categories_, strict=True):
        weights = dict(
            zip(
                map(str, categories),
                map(float, coef[offset : offset + len(categories)]),
                strict=True,
            )
        )
        per_category.append((name, weights))
        offset += len(categories)
    if offset != len(coef):
        return None
    scorer = LinearScorer(
        numeric,
        scaler.mean_,
        scaler.scale_,
        coef[:n_numeric],
        per_category,
        float(intercept),
    )
    records = probe[config.feature_names].to_dict("records")
    columns = {name: probe[name].to_numpy(dtype=float) for name in numeric}
    columns |= {name: _text_array(probe[name]) for name in categorical}
    rows = np.arange(len(probe))
    if config.regression:
        expected = pipeline.predict(probe[config.feature_names])
        one_by_one = [scorer.value_one(record) for record in records]
        answers = (scorer.values(records), one_by_one, scorer.values_columns(columns, rows))
    else:
        expected = pipeline.predict_proba(probe[config.feature_names])[:, 1]
        one_by_one = [scorer.positive_proba_one(record) for record in records]
        by_columns = scorer.positive_proba_columns(columns, rows)
        answers = (scorer.positive_proba(records), one_by_one, by_columns)
    relative = TOLERANCE if config.regression else 0
    for actual in answers:
        if not np.allclose(actual, expected, rtol=relative, atol=TOLERANCE):
            return None
    return scorer


def _text_array(values: pd.Series):
    import pyarrow as pa

    return pa.array(values.astype(str).tolist(), pa.string())
