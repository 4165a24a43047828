"""Alerts posted to a real local HTTP server standing in for Slack and Discord."""

import json
import time

import dagster as dg
import pytest

from continual_ml.alerts import Alert, discord_payload, slack_payload
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.resources import AlertsResource, build_resources
from continual_ml.synthetic_stream import partition_date

ALERT = Alert("model_promoted", "Candidate v2 promoted", "challenger is better", {"champion": "v2"})


class Log:
    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(("info", message))

    def warning(self, message):
        self.lines.append(("warning", message))


def test_slack_and_discord_each_get_their_own_payload(webhook_receiver):
    alerts = AlertsResource(
        slack_webhook_url=f"{webhook_receiver.url}/slack",
        discord_webhook_url=f"{webhook_receiver.url}/discord",
    )
    assert alerts.send(ALERT, Log()) == ["slack", "discord"]
    bodies = {path: json.loads(body) for path, body in webhook_receiver.requests}
    slack, discord = bodies["/slack"], bodies["/discord"]
    assert slack["text"].startswith("[model_promoted] Candidate v2 promoted")
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "section"]
    assert discord["embeds"][0]["title"] == "Candidate v2 promoted"
    assert discord["embeds"][0]["fields"] == [{"name": "champion", "value": "v2", "inline": True}]


def test_payloads_respect_platform_limits():
    huge = Alert(
        "drift_detected", "t" * 500, "x" * 10_000, {f"f{i}": "v" * 3000 for i in range(40)}
    )
    slack, discord = slack_payload(huge), discord_payload(huge)
    assert len(slack["blocks"][0]["text"]["text"]) <= 150
    assert len(slack["blocks"][1]["text"]["text"]) <= 3000
    assert len(slack["blocks"][2]["fields"]) <= 10
    embed = discord["embeds"][0]
    assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
    assert len(embed["fields"]) <= 25 and all(len(f["value"]) <= 1024 for f in embed["fields"])


def test_without_webhooks_alerts_go_to_the_log():
    log = Log()
    assert AlertsResource().send(ALERT, log) == []
    assert log.lines == [("info", f"alert: {ALERT.as_line()}")]


@pytest.mark.parametrize(("status", "delay", "reason"), [(500, 0, "HTTP 500"), (200, 5, "Timeout")])
def test_a_failing_or_hanging_webhook_is_logged_without_its_url(
    webhook_receiver, status, delay, reason
):
    webhook_receiver.status, webhook_receiver.delay_seconds = status, delay
    url = f"{webhook_receiver.url}/services/T000/SECRET-TOKEN"
    log = Log()
    started = time.monotonic()
    assert AlertsResource(slack_webhook_url=url, timeout_seconds=0.5).send(ALERT, log) == []
    assert time.monotonic() - started < 3
    warnings = [line for level, line in log.lines if level == "warning"]
    assert len(warnings) == 1 and reason in warnings[0]
    assert not any("SECRET-TOKEN" in line for _, line in log.lines)


def test_a_webhook_outage_never_fails_the_run_nor_leaks_the_secret(
    home, config, instance, webhook_receiver, monkeypatch
):
    webhook_receiver.status = 500
    secret_url = f"{webhook_receiver.url}/services/T000/SECRET-TOKEN"
    monkeypatch.setenv("CONTINUAL_ML_SLACK_WEBHOOK_URL", secret_url)
    resources = build_resources(home)
    assert isinstance(resources["alerts"].slack_webhook_url, dg.EnvVar)
    reference_day = partition_date(config, 0)
    assert dg.materialize(
        [observations], partition_key=str(reference_day), resources=resources, instance=instance
    ).success
    result = dg.materialize(
        [observations, current_window, reference_window, drift_report],
        partition_key=str(partition_date(config, config.stream.drift_day)),
        resources=resources,
        instance=instance,
    )
    assert result.success
    assert len(webhook_receiver.requests) == 1  # the drift alert was attempted
    logged = [str(record) for record in instance.all_logs(result.run_id)]
    assert any("not delivered (HTTP 500)" in line for line in logged)
    assert not any("SECRET-TOKEN" in line for line in logged)
