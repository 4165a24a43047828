"""What a hanging webhook receiver costs an alert: the sinks one after the other (as before
issue 27) against `send_alert`, which tries them at once within one bound.

    .venv/bin/python -m benchmarks.alert_fanout   # writes benchmarks/results/alert_fanout.json
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.stamp import stamp
from continual_ml.alerts.delivery import Alert, post_webhook
from continual_ml.alerts.payloads import discord_payload, send_alert, slack_payload

RESULTS = Path(__file__).parent / "results" / "alert_fanout.json"
ALERT = Alert("drift_detected", "Data drift on 2026-01-09", "3 of 5 features drifted.")


def receiver(hang: bool, release: threading.Event, arrivals: list) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrivals.append(time.monotonic())
            if hang:
                release.wait(60)
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def one_after_the_other(slack: str, discord: str) -> None:
    """The delivery before: each sink's whole retry budget before the next sink."""
    post_webhook(slack, slack_payload(ALERT), 5.0)
    post_webhook(discord, discord_payload(ALERT), 5.0)


def at_once(slack: str, discord: str) -> None:
    send_alert(
        ALERT,
        slack_webhook_url=slack,
        discord_webhook_url=discord,
        record_path=None,
        say=lambda _: None,
        warn=lambda _: None,
    )


def measure(deliver, hanging: set[str]) -> dict:
    release, arrivals = threading.Event(), {"slack": [], "discord": []}
    servers = {name: receiver(name in hanging, release, arrivals[name]) for name in arrivals}
    urls = {name: f"http://127.0.0.1:{s.server_address[1]}" for name, s in servers.items()}
    started = time.monotonic()
    deliver(urls["slack"], urls["discord"])
    seconds = time.monotonic() - started
    release.set()
    for server in servers.values():
        server.shutdown()
        server.server_close()
    return {
        "hanging": sorted(hanging),
        "seconds": round(seconds, 2),
        "discord_first_post_after_seconds": round(arrivals["discord"][0] - started, 2),
    }


def main() -> None:
    scenarios = [{"slack"}, {"slack", "discord"}]
    results = {
        "stamp": stamp(),
        "settings": {"timeout_seconds": 5.0, "retry_budget_seconds": 10.0, "bound_seconds": 10.0},
        "one_after_the_other": [measure(one_after_the_other, h) for h in scenarios],
        "at_once": [measure(at_once, h) for h in scenarios],
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
