"""Priority aging for the run queue, so no class of work waits forever behind another.

Dagster's queue launches the highest `dagster/priority` first and, within a priority, the
oldest first. Under sustained load that starves the low priorities for good (the issue saw no
prediction-log run succeed in 34 minutes). Raising a waiting run's priority by one level per
`step_seconds` it has waited, up to `cap`, bounds every wait; the cap stays below the work
that must not wait and cannot flood the queue (a retrain, rate-limited by the policy; the one
prediction-log run of a backlog), so that still goes first.

>>> aged_priority(base=0, waited_seconds=95, step_seconds=30, cap=9)
3
>>> aged_priority(base=5, waited_seconds=600, step_seconds=30, cap=9)
9
>>> aged_priority(base=10, waited_seconds=600, step_seconds=30, cap=9)
10
"""

from __future__ import annotations


def aged_priority(base: int, waited_seconds: float, step_seconds: float, cap: int) -> int:
    """The priority a run queued at `base` has earned after waiting `waited_seconds`."""
    if base >= cap:
        return base
    return min(cap, base + int(max(waited_seconds, 0) // step_seconds))


# Queue order when runs wait for the run slots: promoting a fix first, then landing served
# predictions (one small run per backlog, never more than one queued, so it cannot crowd the
# others out; under load it otherwise waited behind every queued day), then measuring new data,
# then reports for people. `queue_aging_sensor` raises a waiting run's priority as it waits, up
# to just below those two (each at most one queued at a time, or rate-limited by the policy), so
# none of them waits forever.
PRIORITY = {"retrain": 10, "prediction_log": 9, "monitoring": 5, "explanation": 0}
AGING_STEP_SECONDS = 30
AGING_CAP = PRIORITY["prediction_log"] - 1
