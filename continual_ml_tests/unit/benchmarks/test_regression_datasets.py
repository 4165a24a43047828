"""The regression datasets: read offline from installed packages, in their documented order,
cut into whole days; the synthetic shift is on its documented day and nowhere else."""

import numpy as np
import pandas as pd
import pytest

from benchmarks.learning.regression_datasets import (
    PUBLIC_REGRESSION,
    REGRESSION_DATASETS,
    SYNTHETIC_HISTORY,
    SYNTHETIC_SHIFT,
    friedman_no_change,
    friedman_shift,
)


@pytest.mark.parametrize(
    "name, shape, first_label",
    [("trump_approval", (1000, 8), 43.75505), ("sp500_returns", (1250, 13), -0.216671)],
)
def test_public_datasets_keep_the_files_order_in_whole_days(name, shape, first_label):
    dataset = REGRESSION_DATASETS[name]
    rows = dataset.build()
    assert rows.shape == shape
    assert rows[dataset.label].iloc[0] == pytest.approx(first_label)  # the file's first row
    assert rows["event_time"].is_monotonic_increasing
    per_day = rows.groupby(rows["event_time"].dt.date).size()
    assert set(per_day) == {dataset.per_day}
    assert len(per_day) > dataset.history_days + 10  # days left to replay after the history
    # a numeric target with many distinct values: what makes `init --from` draft regression
    assert pd.api.types.is_float_dtype(rows[dataset.label])
    assert rows[dataset.label].nunique() > len(rows) // 2


def test_the_public_datasets_are_the_two_river_files():
    assert set(PUBLIC_REGRESSION) == {"trump_approval", "sp500_returns"}


def test_the_synthetic_shift_is_on_its_documented_day_only():
    shifted, unchanged = friedman_shift(), friedman_no_change()
    assert shifted.drop(columns="target").equals(unchanged.drop(columns="target"))
    day = (shifted["event_time"].dt.normalize() - shifted["event_time"].min()).dt.days
    first_shifted_day = SYNTHETIC_HISTORY + SYNTHETIC_SHIFT
    before = day < first_shifted_day
    assert (shifted["target"][before] == unchanged["target"][before]).all()
    # After it, the target moved by exactly 10 * (1 - x4) - 10 * x4, on every row.
    expected = 10 * (1 - 2 * shifted["x4"][~before])
    moved = shifted["target"][~before] - unchanged["target"][~before]
    np.testing.assert_allclose(moved, expected, atol=2e-3)  # both rounded to 4 places
    assert day[~before].min() == first_shifted_day
    assert REGRESSION_DATASETS["friedman_shift"].shifts == (SYNTHETIC_SHIFT,)


def test_the_synthetic_stream_is_seeded():
    assert friedman_shift().equals(friedman_shift())
