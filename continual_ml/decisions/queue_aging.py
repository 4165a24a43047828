"""Priority aging for the run queue, so no class of work waits forever behind another.

Dagster's queue launches the highest `dagster/priority` first and, within a priority, the
oldest first. Under sustained load that starves the low priorities for good (the issue saw no
prediction-log run succeed in 34 minutes). Raising a waiting run's priority by one level per
`step_seconds` it has waited, up to `cap`, bounds every wait; the cap stays below the work
that must not wait and cannot flood the queue (the one landing run queued at a time, the one
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


# Queue order when runs wait for the run slots. Landing and monitoring new days goes first: it
# is what the loop's latency is measured by, and it cannot crowd the others out, as the landing
# sensor keeps at most one such run queued (new files wait to join the next). Then landing the
# served predictions (one short run per backlog, never two in flight), then retrains, then
# measuring days again whose labels came late, then reports for people. `queue_aging_sensor`
# raises a waiting run's priority as it waits, up to the retrains' own: under a drift episode
# the policy may ask for a retrain every landed day (one per 10 s with 10-second days), and
# runs that have waited long enough then take turns with them, oldest first, so none of them
# waits forever.
PRIORITY = {
    "monitoring": 11,
    "prediction_log": 10,
    "retrain": 9,
    "late_labels": 5,
    "explanation": 0,
}
AGING_STEP_SECONDS = 30
AGING_CAP = PRIORITY["retrain"]

# Lanes: landing and monitoring new days runs in the monitoring lane; landing the served
# predictions in the logs lane; late labels, retrains and shadow evidence in the background lane;
# drift-explanation renders (HTML for people, 20-80 s of Evidently under load) in the reports
# lane. The instance limits each lane to one run at a time (tag concurrency limits) and runs as
# many as there are lanes, so each lane has a run slot of its own: no kind of work waits for a
# run slot behind another. Measured with 10-second days and a core busy: with logs, retrains and
# renders in one lane, a log waited for the render or retrain ahead of it (logs in DuckDB p95
# 111 s, retrains started up to 65 s after their request); with renders apart, retrains started
# within 22 s but logs still waited behind retrains (p95 99 s). Under load a landing run is
# always queued (the files that landed meanwhile), and with every slot open to it, landing runs
# held them all for good (no prediction log reached DuckDB in 8 minutes). Landing runs lose
# nothing by going one at a time: each writes the warehouse, one step at a time. A render runs at
# a low CPU priority (`monitoring.low_priority`). Within a lane, the priorities above and the
# aging decide.
LANE_TAG = "continual_ml/lane"
BACKGROUND = "background"
MONITORING = "monitoring"
LOGS = "logs"
REPORTS = "reports"
LANE_RUNS = {MONITORING: 1, LOGS: 1, BACKGROUND: 1, REPORTS: 1}
MAX_CONCURRENT_RUNS = sum(LANE_RUNS.values())
# Dagster's queue launches a run whose first step waits for the warehouse's one pool slot only
# while fewer than slot + buffer such runs are in progress. Every lane but reports opens the
# warehouse, so a buffer of one less than their runs lets each of them launch (load its code)
# while another holds the slot; with 1, a log run waited in the queue behind a landed day's and a
# retrain's (p95 28 s of its 69 s).
WAREHOUSE_RUN_BUFFER = MAX_CONCURRENT_RUNS - LANE_RUNS[REPORTS] - 1


def lane(kind: str) -> str:
    """The lane a kind of work runs in.

    >>> lane("monitoring"), lane("prediction_log"), lane("retrain"), lane("explanation")
    ('monitoring', 'logs', 'background', 'reports')
    """
    return {"monitoring": MONITORING, "prediction_log": LOGS, "explanation": REPORTS}.get(
        kind, BACKGROUND
    )


# Every run but a landed day's also carries `SHARE_TAG: OTHER_WORK`. The embedded instance does not
# limit it (a run slot per lane); an instance with fewer run slots than lanes (the scale-out
# profile's two workers) limits it to one run, so landed days keep a slot of their own there: with
# four lanes over two slots, a log run and a render could otherwise hold both while a day waits.
SHARE_TAG = "continual_ml/share"
LANDED_DAYS = "landed_days"
OTHER_WORK = "other_work"


def share(kind: str) -> str:
    """Which share of the run slots a kind of work counts against on a small instance.

    >>> share("monitoring"), share("explanation")
    ('landed_days', 'other_work')
    """
    return LANDED_DAYS if lane(kind) == MONITORING else OTHER_WORK
