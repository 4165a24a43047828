"""Alerts posted to a real local HTTP server standing in for Slack and Discord."""

import json
import re
import socket
import time

import pytest

from continual_ml.alerts.delivery import Alert, RetryPolicy, post_webhook
from continual_ml.alerts.payloads import discord_payload, slack_payload
from continual_ml.defs.resources import LoggedAlerts, WebhookAlerts

ALERT = Alert("model_promoted", "Candidate v2 promoted", "challenger is better", {"champion": "v2"})
DRIFT = Alert(
    "drift_detected",
    "Data drift on 2024-03-05",
    "4 of 12 features drifted (share 0.33 ≥ 0.3).",
    {"partition": "2024-03-05", "champion": "v3"},
    links={
        "Dagster run": "https://dagster.example/runs/abc?tab=logs&x=1",
        "Drift report": "/srv/continual-ml/reports/drift_2024-03-05.html",
    },
    items=[("income", "0.412 (wasserstein)"), ("<!channel> age", "0.250 (psi)")],
    items_title="Most drifted features",
    impact="estimated AUC −0.04 over the last 7 days",
    action="retrain launched",
)
SECRET = "SECRET-TOKEN"


class Log:
    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(("info", message))

    def warning(self, message):
        self.lines.append(("warning", message))


def dumped(payload) -> str:
    return json.dumps(payload, ensure_ascii=False)


def slack_texts(payload: dict) -> list[tuple[str, int]]:
    """Each text of the blocks with its documented cap (api.slack.com/reference/block-kit)."""
    texts = []
    for block in payload["blocks"]:
        if block["type"] == "header":
            texts.append((block["text"]["text"], 150))
        if "text" in block and block["type"] == "section":
            texts.append((block["text"]["text"], 3000))
        texts += [(f["text"], 2000) for f in block.get("fields", [])]
        texts += [(e["text"], 3000) for e in block.get("elements", [])]
    return texts


def slack_limit_breaches(payload: dict) -> list[str]:
    """Every Block Kit limit the payload breaks."""
    blocks = payload["blocks"]
    breaches = [] if 0 < len(payload["text"]) <= 3000 else ["fallback text"]
    breaches += [] if len(blocks) <= 50 else ["more than 50 blocks"]
    breaches += [b["type"] for b in blocks if len(b.get("fields", [])) > 10]
    breaches += [b["type"] for b in blocks if len(b.get("elements", [])) > 10]
    return breaches + [
        f"text of {len(t)} over {cap}" for t, cap in slack_texts(payload) if not 0 < len(t) <= cap
    ]


def discord_limit_breaches(payload: dict) -> list[str]:
    """Every embed limit the payload breaks (discord.com/developers/docs/resources/message)."""
    breaches = [] if len(payload["content"]) <= 2000 else ["content"]
    breaches += [] if len(payload["embeds"]) <= 10 else ["more than 10 embeds"]
    total = 0
    for embed in payload["embeds"]:
        texts = [(embed.get("title", ""), 256), (embed.get("description", ""), 4096)]
        texts.append((embed["footer"]["text"], 2048))
        breaches += [] if len(embed["fields"]) <= 25 else ["more than 25 fields"]
        for f in embed["fields"]:
            texts += [(f["name"], 256), (f["value"], 1024)]
            breaches += [] if f["name"] and f["value"] else ["empty field"]
        breaches += [f"text of {len(t)} over {cap}" for t, cap in texts if len(t) > cap]
        total += sum(len(t) for t, _ in texts)
    return breaches + ([] if total <= 6000 else [f"embeds total {total}"])


def scripted(*replies):
    """Scripted receiver replies: (status, headers, body) with a JSON or text body."""
    return [
        (status, headers, json.dumps(body).encode() if isinstance(body, dict) else body)
        for status, headers, body in replies
    ]


def test_slack_and_discord_each_get_their_own_payload(webhook_receiver):
    alerts = WebhookAlerts(
        slack_webhook_url=f"{webhook_receiver.url}/slack",
        discord_webhook_url=f"{webhook_receiver.url}/discord",
    )
    assert alerts.send(ALERT, Log()) == ["slack", "discord"]
    bodies = {path: json.loads(body) for path, body in webhook_receiver.requests}
    slack, discord = bodies["/slack"], bodies["/discord"]
    assert slack["text"].startswith("[model_promoted] Candidate v2 promoted")
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "section", "context"]
    assert discord["embeds"][0]["title"] == "Candidate v2 promoted"
    assert discord["embeds"][0]["fields"] == [{"name": "champion", "value": "v2", "inline": True}]


def test_payloads_respect_platform_limits():
    huge = Alert(
        "drift_detected",
        "t" * 500,
        "x&<" * 4_000,
        {f"f{i}": "v" * 3000 for i in range(40)},
        links={f"link {i}" * 20: f"https://example.com/{'p' * 500}/{i}" for i in range(40)},
        items=[(f"feature_{i}" * 30, "9" * 300) for i in range(200)],
        impact="i" * 5000,
        action="a" * 5000,
        items_title="h" * 400,
    )
    slack, discord = slack_payload(huge), discord_payload(huge)
    assert slack_limit_breaches(slack) == []
    assert discord_limit_breaches(discord) == []
    sections = [b for b in slack["blocks"] if b["type"] == "section"]
    assert len(sections[-1]["fields"]) == 10 and "+31 fields not shown" in dumped(sections)
    block_text = sum(len(text) for text, _ in slack_texts(slack))
    assert block_text <= 12_000  # Slack's undocumented msg_blocks_too_long is near 13k
    # the cuts are visible, and an escaped `&amp;` is never cut in half
    assert sections[0]["text"]["text"].endswith("…")
    assert not re.search("[&<]", re.sub("&(amp|lt|gt);", "", sections[0]["text"]["text"]))
    assert "…and " in dumped(slack) and "…and " in dumped(discord)
    embed = discord["embeds"][0]
    assert embed["title"].endswith("…") and embed["fields"][0]["name"] == "Action taken"
    # an empty alert still sends no empty text, which both platforms reject
    empty = Alert("run_failed", "", "")
    assert slack_limit_breaches(slack_payload(empty)) == []
    assert discord_payload(empty)["embeds"][0]["title"] == "run failed"
    # the small alerts the pipeline sends are left whole
    assert slack_limit_breaches(slack_payload(DRIFT)) == []
    assert discord_limit_breaches(discord_payload(DRIFT)) == []
    assert "…" not in dumped([slack_payload(DRIFT), discord_payload(DRIFT)])


def test_structured_alert_says_what_happened_where_to_look_and_what_was_done():
    slack, discord = slack_payload(DRIFT), discord_payload(DRIFT)
    assert DRIFT.as_line().endswith(
        "| action: retrain launched | impact: estimated AUC −0.04 over the last 7 days"
    )
    blocks = slack["blocks"]
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "section",
        "section",
        "section",
        "section",
        "context",
    ]
    assert blocks[0]["text"]["text"] == ":warning: Data drift on 2024-03-05"
    assert blocks[2]["text"]["text"].splitlines() == [
        "*Action taken:* retrain launched",
        "*Estimated impact:* estimated AUC −0.04 over the last 7 days",
    ]
    links = blocks[3]["text"]["text"]
    assert "<https://dagster.example/runs/abc?tab=logs&amp;x=1|Dagster run>" in links
    assert "Drift report: `/srv/continual-ml/reports/drift_2024-03-05.html`" in links
    ranked = blocks[4]["text"]["text"]
    # data never forms a Slack control sequence such as <!channel>
    assert ranked.splitlines() == [
        "*Most drifted features*",
        "1. *income*: 0.412 (wasserstein)",
        "2. *&lt;!channel&gt; age*: 0.250 (psi)",
    ]
    assert [f["text"] for f in blocks[5]["fields"]] == ["*partition*\n2024-03-05", "*champion*\nv3"]
    embed = discord["embeds"][0]
    assert embed["url"] == "https://dagster.example/runs/abc?tab=logs&x=1"
    assert embed["color"] != discord_payload(ALERT)["embeds"][0]["color"]
    assert [f["name"] for f in embed["fields"]] == [
        "Action taken",
        "Estimated impact",
        "Links",
        "Most drifted features",
        "partition",
        "champion",
    ]
    assert (
        "[Dagster run](https://dagster.example/runs/abc?tab=logs&x=1)"
        in embed["fields"][2]["value"]
    )
    assert embed["fields"][3]["value"].startswith("1. **income**: 0.412 (wasserstein)\n2. ")
    assert discord["allowed_mentions"] == {"parse": []}


def test_without_webhooks_alerts_go_to_the_log():
    log = Log()
    assert LoggedAlerts().send(ALERT, log) == []
    assert log.lines == [("info", f"alert: {ALERT.as_line()}")]


@pytest.mark.parametrize(("status", "delay", "reason"), [(500, 0, "HTTP 500"), (200, 5, "Timeout")])
def test_a_failing_or_hanging_webhook_is_logged_without_its_url(
    webhook_receiver, status, delay, reason
):
    webhook_receiver.status, webhook_receiver.delay_seconds = status, delay
    url = f"{webhook_receiver.url}/services/T000/SECRET-TOKEN"
    log = Log()
    started = time.monotonic()
    assert WebhookAlerts(slack_webhook_url=url, timeout_seconds=0.5).send(ALERT, log) == []
    assert time.monotonic() - started < 3.5  # at most 3 attempts of 0.5 s and 0.6 s of backoff
    warnings = [line for level, line in log.lines if level == "warning"]
    assert len(warnings) == 1 and reason in warnings[0]
    assert not any("SECRET-TOKEN" in line for _, line in log.lines)


def test_slack_429_waits_the_retry_after_header(webhook_receiver):
    webhook_receiver.responses = scripted((429, {"Retry-After": "1"}, b"rate_limited"))
    assert post_webhook(f"{webhook_receiver.url}/slack", {"text": "hi"}, 2.0) is None
    first, second = webhook_receiver.arrivals
    assert second - first >= 1.0
    assert len(webhook_receiver.requests) == 2


def test_discord_429_waits_the_json_retry_after(webhook_receiver):
    rate_limited = {"message": "You are being rate limited.", "retry_after": 0.6, "global": False}
    json_type = {"Content-Type": "application/json"}
    webhook_receiver.responses = scripted((429, json_type, rate_limited))
    assert post_webhook(f"{webhook_receiver.url}/discord", {"content": "hi"}, 2.0) is None
    first, second = webhook_receiver.arrivals
    assert second - first >= 0.6


def test_a_retry_after_beyond_the_budget_gives_up_at_once(webhook_receiver):
    webhook_receiver.responses = scripted((429, {"Retry-After": "30"}, b"rate_limited"))
    started = time.monotonic()
    reason = post_webhook(f"{webhook_receiver.url}/slack", {"text": "hi"}, 2.0)
    assert time.monotonic() - started < 1.0
    assert reason == "rate limited: gave up, Retry-After 30s exceeds the 10s budget"
    assert len(webhook_receiver.requests) == 1


def test_a_5xx_is_retried_with_exponential_backoff(webhook_receiver):
    webhook_receiver.responses = scripted((500, {}, b"oops"), (502, {}, b"oops"))
    waits = []
    assert post_webhook(webhook_receiver.url, {"text": "hi"}, 2.0, sleep=waits.append) is None
    assert waits == [0.2, 0.4] and len(webhook_receiver.requests) == 3
    webhook_receiver.status = 503
    policy = RetryPolicy(max_attempts=5, backoff_seconds=0.01, max_backoff_seconds=0.03)
    waits.clear()
    reason = post_webhook(webhook_receiver.url, {}, 2.0, retry=policy, sleep=waits.append)
    assert reason == "HTTP 503 after 5 attempts"
    assert waits == [0.01, 0.02, 0.03, 0.03]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, b"invalid_payload", "HTTP 400: invalid_payload"),
        (404, b"no_service", "HTTP 404: no_service"),
        (
            401,
            {"message": "Invalid Webhook Token", "code": 50027},
            "HTTP 401: Invalid Webhook Token",
        ),
        (403, f"invalid_token for /services/T000/{SECRET}".encode(), "HTTP 403"),
    ],
)
def test_a_4xx_is_final_and_its_hint_never_names_the_secret(webhook_receiver, status, body, reason):
    webhook_receiver.responses = scripted((status, {}, body))
    url = f"{webhook_receiver.url}/services/T000/{SECRET}"
    assert post_webhook(url, {"text": "hi"}, 2.0, sleep=pytest.fail) == reason
    assert len(webhook_receiver.requests) == 1


def test_timeouts_are_retried_within_the_time_budget(webhook_receiver):
    webhook_receiver.delay_seconds = 5
    url = f"{webhook_receiver.url}/services/T000/{SECRET}"
    policy = RetryPolicy(max_attempts=10, max_total_seconds=1.0, backoff_seconds=0.05)
    started = time.monotonic()
    reason = post_webhook(url, {"text": "hi"}, 0.3, retry=policy)
    assert time.monotonic() - started < 1.5
    assert "Timeout, gave up after" in reason and reason.endswith("within the 1s budget")
    assert 2 <= len(webhook_receiver.requests) < 10 and SECRET not in reason


def test_an_unreachable_webhook_is_retried_and_reported_without_its_url():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits = []
    url = f"http://127.0.0.1:{port}/services/T000/{SECRET}"
    assert post_webhook(url, {}, 1.0, sleep=waits.append) == "ConnectError after 3 attempts"
    assert waits == [0.2, 0.4]
    assert post_webhook(f"ftp://127.0.0.1/{SECRET}", {}, 1.0) == "UnsupportedProtocol"
