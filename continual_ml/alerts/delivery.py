"""Alert messages and their delivery with retries; `alert_payloads` formats them per platform."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import tenacity

# Slack's Block Kit has no colour bar, so the event shows as an emoji in the header instead.
EVENT_STYLE = {
    "drift_detected": (":warning:", 0xE67E22),
    "estimate_unreliable": (":grey_question:", 0xF39C12),
    "retrain_finished": (":arrows_counterclockwise:", 0x3498DB),
    "model_promoted": (":white_check_mark:", 0x2ECC71),
    # A refusal is the gate doing its job: neutral grey. Red is for a candidate that is broken.
    "model_rejected": (":no_entry_sign:", 0x95A5A6),
    "candidate_broken": (":no_entry:", 0xE74C3C),
    "approval_needed": (":raised_hand:", 0xF1C40F),
    "model_rolled_back": (":rewind:", 0x9B59B6),
    "model_serving": (":rocket:", 0x1ABC9C),
    "rows_quarantined": (":construction:", 0xE67E22),
    "run_failed": (":x:", 0xC0392B),
    "file_skipped": (":file_folder:", 0xE67E22),
    "component_restarted": (":recycle:", 0xE67E22),
    "component_failed": (":rotating_light:", 0xC0392B),
    "disk_pressure": (":floppy_disk:", 0xE67E22),
    "disk_recovered": (":floppy_disk:", 0x2ECC71),
    "loop_lagging": (":hourglass_flowing_sand:", 0xE67E22),
    "loop_caught_up": (":hourglass:", 0x2ECC71),
}
EVENTS = tuple(EVENT_STYLE)


@dataclass(frozen=True)
class Alert:
    """What happened, the evidence, where to look, and what the system did about it.

    `fields` are short facts shown side by side; `links` map a label ("Dagster run",
    "Drift report") to a URL or a file path; `items` is a ranked list of (name, value), e.g. the
    most drifted features with their scores, shown under `items_title`; `impact` is the
    estimated impact; `action` is what the system did ("retrain launched", "promoted v4",
    "rejected: <gate reason>").
    """

    event: str
    title: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    items: list[tuple[str, str]] = field(default_factory=list)
    impact: str | None = None
    action: str | None = None
    items_title: str = "Top items"

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown alert event {self.event!r}; expected one of {EVENTS}")

    def as_line(self) -> str:
        details = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        line = f"[{self.event}] {self.title}: {self.text}" + (f" ({details})" if details else "")
        for label, value in (("action", self.action), ("impact", self.impact)):
            if value:
                line += f" | {label}: {value}"
        return line


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: a few attempts inside a small time budget, so no run waits long."""

    max_attempts: int = 3
    max_total_seconds: float = 10.0
    backoff_seconds: float = 0.2
    max_backoff_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_total_seconds <= 0:
            raise ValueError("a retry policy needs at least one attempt and a positive budget")

    def backoff(self, failed_attempts: int) -> float:
        # No jitter: one process posts a handful of alerts, there is no herd to spread out.
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (failed_attempts - 1))


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a 429 asks for: Discord's JSON `retry_after`, else the `Retry-After` header."""
    try:
        body = response.json()
    except ValueError:
        body = None
    hints = [body.get("retry_after") if isinstance(body, dict) else None]
    hints.append(response.headers.get("Retry-After"))
    for hint in hints:
        try:  # both platforms send seconds, never the HTTP-date form of the header
            seconds = float(hint)
        except (TypeError, ValueError):
            continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None


def _error_hint(response: httpx.Response, url: str) -> str:
    """A short hint from a 4xx body (Slack: `invalid_payload`), or nothing if it names a secret."""
    try:
        body = response.json()
    except ValueError:
        body = None
    text = body.get("message", "") if isinstance(body, dict) else response.text
    text = " ".join(str(text).split())[:80]
    parts = urlsplit(url)
    secrets = [url, parts.query, *(s for s in parts.path.split("/") if len(s) >= 8)]
    return "" if any(secret and secret in text for secret in secrets) else text


class _WorthRetrying(Exception):
    """An attempt that may succeed later: what failed, and the wait the reply asked for."""

    def __init__(self, failure: str, asked: float | None = None) -> None:
        super().__init__(failure)
        self.failure, self.asked = failure, asked


def _post_once(url: str, payload: dict, timeout: float, deadline: float, budget: str) -> str | None:
    """One attempt: None on success, a final reason, or `_WorthRetrying`."""
    try:
        response = httpx.post(url, json=payload, timeout=timeout)
    except (httpx.TimeoutException, httpx.NetworkError) as error:
        # Exception texts can carry the URL, which is the secret: report the kind only. A
        # timed-out post may have landed; a duplicate alert is better than a lost one.
        raise _WorthRetrying(type(error).__name__) from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        return type(error).__name__  # a bad URL or protocol does not heal on retry
    if response.is_success:
        return None
    status = response.status_code
    if status == 429:
        asked = _retry_after_seconds(response)
        if asked is not None and time.monotonic() + asked > deadline:
            return f"rate limited: gave up, Retry-After {asked:g}s exceeds the {budget}"
        raise _WorthRetrying("rate limited (HTTP 429)", asked)
    if status >= 500:
        raise _WorthRetrying(f"HTTP {status}")
    hint = _error_hint(response, url)
    return f"HTTP {status}: {hint}" if hint else f"HTTP {status}"


def post_webhook(
    url: str,
    payload: dict,
    timeout_seconds: float,
    *,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Post one message; return None on success or a short reason that names no secret.

    HTTP 429 waits as long as the reply asks, 5xx replies, timeouts and dropped connections
    back off exponentially, other 4xx replies are final. All attempts share
    `retry.max_total_seconds`; a wait that would overrun it ends the delivery at once.
    """
    deadline = time.monotonic() + retry.max_total_seconds
    budget = f"{retry.max_total_seconds:g}s budget"

    def attempt() -> str | None:
        timeout = max(min(timeout_seconds, deadline - time.monotonic()), 0.01)
        return _post_once(url, payload, timeout, deadline, budget)

    def wait(state: tenacity.RetryCallState) -> float:
        asked = state.outcome.exception().asked
        return retry.backoff(state.attempt_number) if asked is None else asked

    def overruns_budget(state: tenacity.RetryCallState) -> bool:
        return time.monotonic() + state.upcoming_sleep >= deadline

    def gave_up(state: tenacity.RetryCallState) -> str:
        failure, attempts = state.outcome.exception().failure, state.attempt_number
        if attempts == retry.max_attempts:
            return f"{failure} after {attempts} attempts"
        return f"{failure}, gave up after {attempts} attempts to stay within the {budget}"

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(_WorthRetrying),
        wait=wait,  # computed before `stop` asks, so the budget sees the coming wait
        stop=tenacity.stop_any(tenacity.stop_after_attempt(retry.max_attempts), overruns_budget),
        sleep=sleep,
        retry_error_callback=gave_up,
    )(attempt)


def record_alert(path: Path, alert: Alert, delivered: list[str]) -> None:
    """Append the alert to a JSON-lines record: what was said and where it went, no URLs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "event": alert.event,
        "line": alert.as_line(),
        "delivered_to": delivered,
    }
    with path.open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


def recent_alerts(path: Path, limit: int = 5) -> list[dict]:
    """The newest alerts of the record, newest last."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()[-limit:] if line]
