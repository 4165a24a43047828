"""The `model_serving` alert: a replica of the service started serving a model version.

The promotion says which model should serve; this says which one does, once a replica has loaded
and verified it, so a reader sees the cut-over happen (or not). Sent from the service's follower
thread through the same delivery as every other alert (no warehouse, no Dagster), in a thread of
its own so the follower never waits on a webhook; the webhook URLs come only from the environment.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from continual_ml.alerts.delivery import Alert
from continual_ml.alerts.links import asset_partition_url
from continual_ml.alerts.payloads import send_alert
from continual_ml.settings import Settings

log = logging.getLogger("continual_ml.alerts.model_serving")


def serving_alert(model, previous: int | None, replica: str, service_url: str) -> Alert:
    """`model` is the service's `ServedModel` (version, tag, loaded_at, manifest)."""
    manifest = model.manifest
    was = f"v{previous}" if previous is not None else "nothing (the replica started)"
    facts = {
        "replica": replica,
        "was serving": was,
        "promoted by": str(manifest.get("promoted_by") or "-"),
        "training window": f"{manifest.get('training_start', '?')} .. "
        f"{manifest.get('training_end', '?')}",
        "loaded at": model.loaded_at,
    }
    return Alert(
        "model_serving",
        f"Serving model v{model.version}",
        f"Replica {replica} verified and now serves v{model.version} (was {was}).",
        facts,
        links={
            "Served model (GET /model)": f"{service_url.rstrip('/')}/model",
            "Champion (Dagster)": asset_partition_url("champion_model"),
        },
    )


class ServingAnnouncer:
    """An `on_swap` hook: alerts each version a replica starts serving, after `also`."""

    def __init__(
        self,
        also: Callable[[object], None] | None = None,
        record_path: Path | None = None,
        replica: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.also, self.record_path = also, record_path
        self.settings = settings or Settings.from_env()
        self.replica = replica or self.settings.replica_id or socket.gethostname()
        self.previous: int | None = None
        self.sending: list[threading.Thread] = []

    def __call__(self, model) -> None:
        if self.also is not None:
            self.also(model)
        alert = serving_alert(model, self.previous, self.replica, self.settings.service_url)
        self.previous = model.version
        thread = threading.Thread(target=self._send, args=(alert,), daemon=True)
        self.sending = [t for t in self.sending if t.is_alive()] + [thread]
        thread.start()

    def _send(self, alert: Alert) -> None:
        try:
            send_alert(
                alert,
                slack_webhook_url=Settings.secret(self.settings.slack_webhook_url),
                discord_webhook_url=Settings.secret(self.settings.discord_webhook_url),
                record_path=self.record_path,
                say=log.info,
                warn=log.warning,
            )
        except Exception as error:  # an alert never takes the service down
            log.warning("model_serving alert not sent (%s)", type(error).__name__)

    def join(self, timeout: float) -> None:
        """Wait for the alerts being sent (tests, and a clean shutdown)."""
        for thread in list(self.sending):
            thread.join(timeout)
