"""A feature missing more often than in the reference is reported, though no distribution test
(ours or Evidently's) can see it."""

import doctest

import numpy as np
import pandas as pd

from continual_ml.monitoring import missing_values
from continual_ml.monitoring.drift_engine import build_profile
from continual_ml.monitoring.missing_values import missing_value_drift


def test_the_examples_hold():
    assert doctest.testmod(missing_values).failed == 0


def column(n, n_missing, seed=0):
    values = np.random.default_rng(seed).normal(size=n)
    values[:n_missing] = np.nan
    return pd.DataFrame({"income": values})


def test_ten_to_sixteen_percent_missing_on_small_days_is_a_shift():
    profile = build_profile(column(495, 50), ["income"])  # three days of 165 rows, 10%
    [shift] = missing_value_drift(profile, column(165, 26, seed=1))  # one day, 16%
    assert shift.drifted and shift.describe() == "10.1% -> 15.8% missing (p=0.049)"
    [same] = missing_value_drift(profile, column(165, 18, seed=1))  # 11%: noise
    assert not same.drifted


def test_a_tiny_change_on_a_huge_batch_is_significant_but_not_a_shift():
    profile = build_profile(column(200_000, 20_000), ["income"])
    [shift] = missing_value_drift(profile, column(200_000, 21_000, seed=1))
    assert shift.p_value < 0.05 and not shift.drifted
