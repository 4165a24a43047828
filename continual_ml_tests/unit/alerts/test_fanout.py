"""Slack and Discord tried at once, within one bound, against real receivers on loopback."""

import time

from continual_ml.alerts.delivery import EVENT_STYLE, Alert
from continual_ml.alerts.payloads import discord_payload, send_alert, slack_payload
from continual_ml_tests.support.webhook_sinks import sinks

ALERT = Alert("drift_detected", "Data drift on 2026-01-09", "3 of 5 features drifted.")
SECRET = "T000/B000/SECRET-TOKEN-1234"


class Log:
    def __init__(self):
        self.lines = []

    def __call__(self, line):
        self.lines.append(line)


def test_a_hanging_sink_does_not_hold_back_the_other():
    with sinks(2) as (slack, discord):
        slack.hang_seconds = 30  # held far beyond the bound; released when the test ends
        warn = Log()
        started = time.monotonic()
        delivered = send_alert(
            ALERT,
            slack_webhook_url=f"{slack.url}/services/{SECRET}",
            discord_webhook_url=f"{discord.url}/api/webhooks/{SECRET}",
            record_path=None,
            timeout_seconds=5.0,
            bound_seconds=2.0,
            say=Log(),
            warn=warn,
        )
        returned = time.monotonic()
        assert delivered == ["discord"]
        # Structure, not a stopwatch: Discord was asked long before Slack's post could have
        # timed out (one after the other, it would have waited the whole bound), and was
        # answered while Slack's request was still held.
        first_slack, first_discord = slack.posts[0], discord.posts[0]
        assert first_discord.arrived - first_slack.arrived < 2.0 / 2
        assert first_slack.answered is None and first_discord.answered < returned
        # One bound for all attempts: Slack's hung post timed out within it, not 5 s later.
        assert len(slack.posts) == 1
        assert returned - started < 2.0 + 5.0  # the bound, with room for a loaded machine
        assert len(warn.lines) == 1 and warn.lines[0].startswith("alert to slack not delivered")
        assert SECRET not in warn.lines[0]


def test_two_hanging_sinks_cost_one_bound_not_two():
    with sinks(2) as (slack, discord):
        slack.hang_seconds = discord.hang_seconds = 30
        warn = Log()
        delivered = send_alert(
            ALERT,
            slack_webhook_url=slack.url,
            discord_webhook_url=discord.url,
            record_path=None,
            timeout_seconds=5.0,
            bound_seconds=1.5,
            say=Log(),
            warn=warn,
        )
        assert delivered == []
        # Both were asked before either gave up: the second did not wait out the first's bound.
        arrivals = [slack.posts[0].arrived, discord.posts[0].arrived]
        assert max(arrivals) - min(arrivals) < 1.5 / 2
        assert {line.split(" ")[2] for line in warn.lines} == {"slack", "discord"}


def test_refusals_are_neutral_and_broken_candidates_red():
    colour = {e: discord_payload(Alert(e, "t", "x"))["embeds"][0]["color"] for e in EVENT_STYLE}
    red = {0xE74C3C, 0xC0392B}
    assert colour["model_rejected"] not in red
    rejected = colour["model_rejected"]
    r, g, b = rejected >> 16, rejected >> 8 & 255, rejected & 255
    assert max(r, g, b) - min(r, g, b) < 24  # a grey: no hue says "error"
    assert colour["candidate_broken"] in red and colour["run_failed"] in red
    assert colour["model_promoted"] != colour["model_rejected"]


def test_each_kind_of_event_names_itself():
    for event in ("estimate_unreliable", "model_serving", "candidate_broken", "drift_detected"):
        alert = Alert(event, "t", "x")
        assert discord_payload(alert)["embeds"][0]["footer"]["text"].endswith(event)
        assert slack_payload(alert)["blocks"][-1]["elements"][0]["text"].endswith(f"`{event}`")
