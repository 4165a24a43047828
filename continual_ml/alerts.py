"""Alert messages and their delivery to Slack and Discord incoming webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

EVENTS = (
    "drift_detected",
    "retrain_finished",
    "model_promoted",
    "model_rejected",
    "approval_needed",
    "model_rolled_back",
    "rows_quarantined",
    "run_failed",
)
_SLACK_TEXT_LIMIT = 3000
_DISCORD_DESCRIPTION_LIMIT = 4096
_DISCORD_FIELD_LIMIT = 1024


@dataclass(frozen=True)
class Alert:
    event: str
    title: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown alert event {self.event!r}; expected one of {EVENTS}")

    def as_line(self) -> str:
        details = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        return f"[{self.event}] {self.title}: {self.text}" + (f" ({details})" if details else "")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(alert: Alert) -> dict:
    """A Slack incoming-webhook message: plain `text` fallback plus Block Kit sections."""
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(alert.title, 150)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _clip(alert.text, _SLACK_TEXT_LIMIT)},
        },
    ]
    if alert.fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": _clip(f"*{k}*\n{v}", 2000)}
                    for k, v in list(alert.fields.items())[:10]
                ],
            }
        )
    return {"text": _clip(alert.as_line(), _SLACK_TEXT_LIMIT), "blocks": blocks}


def discord_payload(alert: Alert) -> dict:
    """A Discord webhook message with one embed."""
    return {
        "content": _clip(f"**{alert.title}**", 2000),
        "embeds": [
            {
                "title": _clip(alert.title, 256),
                "description": _clip(alert.text, _DISCORD_DESCRIPTION_LIMIT),
                "fields": [
                    {"name": _clip(k, 256), "value": _clip(v, _DISCORD_FIELD_LIMIT), "inline": True}
                    for k, v in list(alert.fields.items())[:25]
                ],
                "footer": {"text": f"continual-ml · {alert.event}"},
            }
        ],
    }


def post_webhook(url: str, payload: dict, timeout_seconds: float) -> str | None:
    """Post one message; return None on success or a reason that names no secret."""
    try:
        response = httpx.post(url, json=payload, timeout=timeout_seconds)
    except httpx.HTTPError as error:
        # The exception text can carry the URL, and the URL is the secret: report the kind only.
        return f"{type(error).__name__}"
    if response.status_code >= 300:
        return f"HTTP {response.status_code}"
    return None
