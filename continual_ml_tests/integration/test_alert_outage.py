"""Alerts posted to a real local HTTP server standing in for Slack and Discord."""

import json

import dagster as dg

from continual_ml.alerts.delivery import Alert
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.resources import build_resources
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml_tests.support.synthetic_days import land_days, landed

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


def test_a_webhook_outage_never_fails_the_run_nor_leaks_the_secret(
    home, config, instance, webhook_receiver, monkeypatch
):
    webhook_receiver.status = 500
    secret_url = f"{webhook_receiver.url}/services/T000/SECRET-TOKEN"
    monkeypatch.setenv("CONTINUAL_ML_SLACK_WEBHOOK_URL", secret_url)
    resources = build_resources(home)
    assert isinstance(resources["alerts"].slack_webhook_url, dg.EnvVar)
    reference_day = partition_date(config, 0)
    land_days([reference_day], home, resources, instance)
    drifted_day = partition_date(config, config.stream.drift_day)
    result = dg.materialize(
        [observations, current_window, reference_window, drift_report],
        partition_key=str(drifted_day),
        run_config=landed(drifted_day, home.home / "batches"),
        resources=resources,
        instance=instance,
    )
    assert result.success
    # the drift alert was attempted, and retried on the 5xx
    assert [path for path, _ in webhook_receiver.requests] == ["/services/T000/SECRET-TOKEN"] * 3
    logged = [str(record) for record in instance.all_logs(result.run_id)]
    assert any("not delivered (HTTP 500 after 3 attempts)" in line for line in logged)
    assert not any("SECRET-TOKEN" in line for line in logged)
