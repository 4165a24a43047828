import numpy as np
import pandas as pd

from continual_ml.demo.synthetic_stream import drift_weight, generate_batch, partition_date


def test_same_seed_and_day_give_identical_rows(config):
    day = partition_date(config, 3)
    pd.testing.assert_frame_equal(generate_batch(config, day), generate_batch(config, day))


def test_days_differ_and_carry_their_date(config):
    first, second = (generate_batch(config, partition_date(config, i)) for i in (0, 1))
    assert not np.allclose(first["x0"], second["x0"])
    assert (first["event_time"].dt.date == partition_date(config, 0)).all()
    assert first["row_id"].is_unique and len(first) == config.stream.rows_per_day
    assert set(first.columns) >= {
        "row_id",
        "event_time",
        "batch_id",
        "label",
        *config.feature_names,
    }


def test_drift_weight_is_a_step_or_a_ramp():
    assert [drift_weight(d, 5, 0) for d in (3, 4, 5, 9)] == [0.0, 0.0, 1.0, 1.0]
    assert [drift_weight(d, 5, 3) for d in (4, 5, 6, 7, 8)] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_features_shift_from_the_drift_day(config):
    before = generate_batch(config, partition_date(config, config.stream.drift_day - 1))
    after = generate_batch(config, partition_date(config, config.stream.drift_day))
    assert abs(before["x0"].mean()) < 0.1
    assert abs(after["x0"].mean() - 1.5) < 0.1
    assert after["x2"].std() > 1.8 * before["x2"].std()
    assert (after["segment"] == "west").mean() > (before["segment"] == "west").mean() + 0.2
