"""A feature missing more often than in the reference is reported, though no distribution test
(ours or Evidently's) can see it."""

import doctest

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from continual_ml.defs.data.assets import current_window, reference_window
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.resources import build_resources
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.monitoring import missing_values
from continual_ml.monitoring.drift_engine import build_profile
from continual_ml.monitoring.missing_values import missing_value_drift
from continual_ml_tests.synthetic_days import land_days


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


def test_drift_report_reports_a_feature_that_went_missing(home, config, instance):
    resources = build_resources(home)
    land_days([partition_date(config, i) for i in range(4)], home, resources, instance)
    day = partition_date(config, 3)
    with duckdb.connect(str(home.warehouse)) as conn:
        conn.execute(
            "UPDATE observations SET x0 = NULL WHERE partition_date = ? AND hash(row_id) % 5 = 0",
            [day],
        )
    result = dg.materialize(
        [current_window, reference_window, drift_report],
        partition_key=str(day),
        resources=resources,
        instance=instance,
    )
    [event] = result.asset_materializations_for_node("drift_report")
    shifts = event.metadata["missing_value_shifts"].value
    assert shifts.startswith("x0: 0.0% -> ") and "segment" not in shifts
