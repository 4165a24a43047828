"""Keeping the live system's processes alive: restart what exits or stops answering, with
backoff and a limit, and give up (so `up` stops everything) only when one keeps crashing.

The supervisor knows nothing about Dagster or BentoML: each `Component` brings its own
`alive`, `healthy` and `restart`. `check()` is called about once a second by `up`'s loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class RestartPolicy:
    """How hard to try before giving up on a component.

    `max_restarts` within `window_seconds` are allowed; the next failure gives up. Restarts back
    off exponentially from `backoff_seconds`; a component that stays up for `stable_seconds`
    starts again from the shortest backoff. A health check must fail `unhealthy_after` times in
    a row, and counts only once it has passed after a (re)start or `startup_seconds` are up, so
    a slow start or one slow answer under load is not a crash.
    """

    max_restarts: int = 5
    window_seconds: float = 600.0
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    stable_seconds: float = 120.0
    unhealthy_after: int = 3
    health_interval_seconds: float = 5.0
    startup_seconds: float = 180.0
    # Looked at every round (a read of /proc): a debugger may stop a process for a moment.
    stopped_seconds: float = 5.0

    def backoff(self, restarts_in_a_row: int) -> float:
        return min(self.max_backoff_seconds, self.backoff_seconds * 2**restarts_in_a_row)


@dataclass
class Component:
    """`alive`: the process exists. `healthy`: it answers, within its own bound. `stopped`: it
    exists but runs none of its code (SIGSTOP, a debugger): a hang, treated like no answer."""

    name: str
    alive: Callable[[], bool]
    restart: Callable[[], None]
    healthy: Callable[[], bool] | None = None
    stopped: Callable[[], bool] | None = None


@dataclass
class ComponentState:
    restarts: list[float] = field(default_factory=list)  # monotonic times, within the window
    total_restarts: int = 0
    in_a_row: int = 0
    started_at: float = field(default_factory=time.monotonic)
    restart_due: float | None = None
    failed_checks: int = 0
    stopped_since: float | None = None
    passed_check: bool = False
    next_check: float = 0.0
    last_reason: str = ""
    last_restart_at: str = ""

    def summary(self) -> dict:
        state = "restarting" if self.restart_due is not None else "running"
        return {
            "state": state,
            "restarts": self.total_restarts,
            "last_restart_at": self.last_restart_at,
            "last_reason": self.last_reason,
        }


class GaveUp(Exception):
    """A component kept crashing: the live system should stop."""


class Supervisor:
    """`notify(event, name, text)` hears of each restart ("restarting") and of giving up
    ("gave_up"): `up` logs it, records it in its state file and alerts on it."""

    def __init__(
        self,
        components: list[Component],
        notify: Callable[[str, str, str], None],
        policy: RestartPolicy = RestartPolicy(),
        clock: Callable[[], float] = time.monotonic,
        never_give_up: Callable[[], bool] = lambda: False,
    ) -> None:
        self.components, self.notify, self.policy, self.clock = components, notify, policy, clock
        # While this holds (a full disk), crashes are the machine's, not the component's: keep
        # restarting at the longest backoff rather than stop everything.
        self.never_give_up = never_give_up
        self.states = {c.name: ComponentState(started_at=clock()) for c in components}

    def check(self) -> None:
        """One round: restart what is due, look for what died or stopped answering."""
        for component in self.components:
            state, now = self.states[component.name], self.clock()
            if state.restart_due is not None:
                if now >= state.restart_due:
                    self._restart(component, state)
                continue
            reason = self._failure(component, state, now)
            if reason:
                self._failed(component, state, reason, now)
            elif now - state.started_at >= self.policy.stable_seconds:
                state.in_a_row = 0

    def _failure(self, component: Component, state: ComponentState, now: float) -> str | None:
        if not component.alive():
            return "exited"
        if component.stopped is not None and component.stopped():
            state.stopped_since = state.stopped_since if state.stopped_since is not None else now
            if now - state.stopped_since >= self.policy.stopped_seconds:
                return (
                    "stopped (SIGSTOP or a debugger), running none of its code for "
                    f"{now - state.stopped_since:.0f} s"
                )
            return None
        state.stopped_since = None
        if component.healthy is None or now < state.next_check:
            return None
        state.next_check = now + self.policy.health_interval_seconds
        if component.healthy():
            state.failed_checks, state.passed_check = 0, True
            return None
        if not state.passed_check and now - state.started_at < self.policy.startup_seconds:
            return None  # still starting
        state.failed_checks += 1
        if state.failed_checks >= self.policy.unhealthy_after:
            return f"not answering its health check ({state.failed_checks} times in a row)"
        return None

    def _failed(self, component: Component, state: ComponentState, reason: str, now: float):
        window = self.policy.window_seconds
        state.restarts = [t for t in state.restarts if now - t < window]
        state.last_reason = reason
        if len(state.restarts) >= self.policy.max_restarts and not self.never_give_up():
            text = (
                f"{reason}; restarted {len(state.restarts)} times in the last {window:g} s, "
                "giving up"
            )
            self.notify("gave_up", component.name, text)
            raise GaveUp(f"{component.name} {text}")
        wait = self.policy.backoff(state.in_a_row)
        if len(state.restarts) >= self.policy.max_restarts:  # held back from giving up
            wait = self.policy.max_backoff_seconds
        state.restart_due = now + wait
        self.notify("restarting", component.name, f"{reason}; restarting in {wait:g} s")

    def _restart(self, component: Component, state: ComponentState) -> None:
        component.restart()
        now = self.clock()
        state.restarts.append(now)
        state.total_restarts += 1
        state.in_a_row += 1
        state.started_at, state.restart_due = now, None
        state.failed_checks, state.passed_check, state.next_check = 0, False, 0.0
        state.stopped_since = None
        state.last_restart_at = datetime.now(UTC).isoformat(timespec="seconds")

    def summary(self) -> dict[str, dict]:
        return {name: state.summary() for name, state in self.states.items()}
