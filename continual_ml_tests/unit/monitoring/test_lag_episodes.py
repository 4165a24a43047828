"""Lag episodes: one alert as a condition passes its limit, one as it comes back, none between."""

from continual_ml.monitoring.lag_episodes import LagLimits, lag_changes

LIMITS = LagLimits(max_lag_days=3, max_queue_minutes=10)


def announced(readings_per_tick: list[dict]) -> list[tuple[int, str, bool]]:
    episodes, said = {}, []
    for tick, readings in enumerate(readings_per_tick):
        episodes, changes = lag_changes(episodes, readings, LIMITS)
        said += [(tick, change.condition, change.opened) for change in changes]
    return said


def test_a_long_episode_is_announced_once_and_its_end_once():
    lags = [0, 2, 3, 4, 9, 40, 12, 4, 3, 0, 5]
    said = announced([{"monitoring_lag": lag, "queue_wait": 0.0} for lag in lags])
    assert said == [
        (3, "monitoring_lag", True),  # 4 > 3: past the limit, not at it
        (8, "monitoring_lag", False),
        (10, "monitoring_lag", True),  # a new episode
    ]


def test_a_reading_not_taken_keeps_the_episode():
    said = announced([{"monitoring_lag": 5}, {"monitoring_lag": None}, {}, {"monitoring_lag": 5}])
    assert said == [(0, "monitoring_lag", True)]


def test_queue_wait_is_judged_in_minutes_and_apart_from_lag():
    said = announced(
        [
            {"monitoring_lag": 0, "queue_wait": 599.0},
            {"monitoring_lag": 0, "queue_wait": 601.0},
            {"monitoring_lag": 4, "queue_wait": 900.0},
            {"monitoring_lag": 4, "queue_wait": 0.0},
        ]
    )
    assert said == [
        (1, "queue_wait", True),
        (2, "monitoring_lag", True),
        (3, "queue_wait", False),
    ]
