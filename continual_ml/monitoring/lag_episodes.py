"""When to say the loop lags: once as an episode starts, once as it ends, never every tick.

Two conditions, each with its own limit: monitoring lags more than `max_lag_days`, and a run has
waited in the queue more than `max_queue_minutes`. A condition over its limit opens an episode
(one alert); back within it, the episode closes (one recovery note). A reading not taken this
time (None) changes nothing.

>>> limits = LagLimits(max_lag_days=3, max_queue_minutes=10)
>>> state, changes = lag_changes({}, {"monitoring_lag": 5, "queue_wait": 60.0}, limits)
>>> state, [(c.condition, c.opened) for c in changes]
({'monitoring_lag': True, 'queue_wait': False}, [('monitoring_lag', True)])
>>> lag_changes(state, {"monitoring_lag": 6, "queue_wait": None}, limits)[1]
[]
>>> [(c.condition, c.opened) for c in lag_changes(state, {"monitoring_lag": 1}, limits)[1]]
[('monitoring_lag', False)]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LagLimits:
    max_lag_days: int
    max_queue_minutes: float

    def over(self, condition: str, value: float) -> bool:
        if condition == "monitoring_lag":
            return value > self.max_lag_days
        return value > self.max_queue_minutes * 60

    def limit_text(self, condition: str) -> str:
        if condition == "monitoring_lag":
            return f"{self.max_lag_days} day(s)"
        return f"{self.max_queue_minutes:g} min"


@dataclass(frozen=True)
class LagChange:
    condition: str  # "monitoring_lag" or "queue_wait"
    opened: bool  # True: the episode starts; False: it ended


CONDITIONS = ("monitoring_lag", "queue_wait")


def lag_changes(
    episodes: dict[str, bool], readings: dict[str, float | None], limits: LagLimits
) -> tuple[dict[str, bool], list[LagChange]]:
    """The episodes open after these readings, and the changes to announce.

    `episodes` maps a condition to whether its episode is open; `readings` maps it to the
    lag in days or the oldest queued run's wait in seconds (None or absent: not read)."""
    state, changes = dict(episodes), []
    for condition in CONDITIONS:
        value = readings.get(condition)
        was_open = episodes.get(condition, False)
        if value is None:
            state[condition] = was_open
            continue
        now_open = limits.over(condition, value)
        state[condition] = now_open
        if now_open != was_open:
            changes.append(LagChange(condition, now_open))
    return state, changes
