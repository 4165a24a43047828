"""Whether a sensor should ask again for work whose run failed: bounded, and only for failures
of the infrastructure (a killed worker, an unreachable code server), never for a failed step.

A step failure is the data or the model saying no (a file that fails validation, a broken
candidate): asking again would only fail again and alert twice. (A candidate the gate merely
refuses fails no step: its run succeeds, so there is nothing to ask again for.) Dagster's own run
retries (`run_retries` in dagster.yaml) redo a crashed run first; a sensor asks again only once
those are spent, so the work is not dropped when, say, the code server was down for a while.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IN_FLIGHT = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING", "MANAGED"}
MAX_REQUESTS = 3  # the first request and two more


@dataclass(frozen=True)
class Attempt:
    """One run made for a request: its status, why it failed, whether Dagster will retry it,
    and whether it was made by Dagster's run retries rather than by the sensor."""

    status: str
    failure_reason: str | None = None
    will_retry: bool = False
    is_run_retry: bool = False


Step = Literal["request", "wait", "done", "give_up"]


@dataclass(frozen=True)
class NextStep:
    step: Step
    attempt: int = 0  # the sensor request to make (0 is the first)
    reason: str = ""


def next_step(attempts: list[Attempt], max_requests: int = MAX_REQUESTS) -> NextStep:
    """What to do about a request given its runs, oldest first."""
    if not attempts:
        return NextStep("request", 0, "new")
    if any(a.status == "SUCCESS" for a in attempts):
        return NextStep("done", reason="succeeded")
    last = attempts[-1]
    if last.status in IN_FLIGHT or (last.status == "FAILURE" and last.will_retry):
        return NextStep("wait", reason="a run is in flight or will be retried")
    if last.status == "CANCELED":
        return NextStep("done", reason="canceled by someone")
    if last.failure_reason == "STEP_FAILURE":
        return NextStep("done", reason="a step failed; asking again would fail again")
    requests = sum(not a.is_run_retry for a in attempts)
    why = f"failed ({last.failure_reason or 'no reason recorded'})"
    if requests >= max_requests:
        return NextStep("give_up", requests, f"{why} after {requests} requests")
    return NextStep("request", requests, why)
