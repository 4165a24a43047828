"""How often the policy may retrain: a cooldown after each retrain and a cap per 24 hours, both
counted in data time (`data_time`), so a replay is paced like the days it replays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from continual_ml.decisions.retrain_inputs import RetrainPolicy

CAP_WINDOW = timedelta(days=1)


def _time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def blocks(
    policy: RetrainPolicy, recent_retrains: Sequence[datetime], now: datetime
) -> list[tuple[datetime, str]]:
    """What stops a retrain now, each with the time it stops doing so."""
    blocks = []
    if recent_retrains:
        last = max(recent_retrains)
        until = last + policy.cooldown
        if now < until:
            hours = policy.cooldown.total_seconds() / 3600
            blocks.append(
                (until, f"cooldown until {_time(until)} ({hours:g} h after {_time(last)})")
            )
    in_window = sorted(t for t in recent_retrains if now - CAP_WINDOW < t <= now)
    cap = policy.max_retrains_per_day
    if len(in_window) >= cap:
        # allowed again once enough of them are more than a day old to leave cap - 1
        until = in_window[len(in_window) - cap] + CAP_WINDOW
        blocks.append(
            (
                until,
                f"cap reached: {len(in_window)} retrains in the last 24 h (max {cap}), "
                f"next at {_time(until)}",
            )
        )
    return blocks


def data_time(partition: str) -> datetime:
    """When a partition's day ends: the time the policy counts its cooldown and cap in.

    Data time, not the wall clock, so a backfill or a replay of old files is paced like the
    days it replays rather than by how fast they are processed.

    >>> data_time("2026-01-10")
    datetime.datetime(2026, 1, 11, 0, 0, tzinfo=datetime.timezone.utc)
    """
    return datetime.combine(date.fromisoformat(partition), time(), UTC) + timedelta(days=1)
