"""The loop's lag as last read, kept where `status` and Prometheus find it.

Two files in the home, each replaced whole: `loop_lag.json` for `continual-ml status` and the
service's `/metrics`, and `metrics/continual_ml_loop.prom` in Prometheus' text format, for
node_exporter's textfile collector (`--collector.textfile.directory=<home>/metrics`). A lag not
read this time (None) keeps its last reading and when it was taken.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from continual_ml.monitoring.lag_episodes import CONDITIONS
from continual_ml.monitoring.loop_lag import MonitoringLag, QueueWait

TEXTFILE_NAME = Path("metrics") / "continual_ml_loop.prom"


def read_loop_lag(path: Path) -> dict:
    """The last record, or {} before the first (or if it cannot be read)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def loop_lag_record(
    previous: dict,
    lag: MonitoringLag | None,
    queue: QueueWait,
    episodes: dict[str, bool],
    now: datetime,
) -> dict:
    """The record after this reading (`lag` None: not read, the previous one stays)."""
    oldest = queue.oldest
    lag_part = previous.get("lag")
    if lag is not None:
        lag_part = {
            "days": lag.days,
            "newest_landed": str(lag.newest_landed) if lag.newest_landed else None,
            "newest_measured": str(lag.newest_measured) if lag.newest_measured else None,
            "text": lag.describe(),
            "read_at": now.isoformat(timespec="seconds"),
        }
    return {
        "at": now.isoformat(timespec="seconds"),
        "lag": lag_part,
        "queue": {
            "n_queued": queue.n_queued,
            "oldest_wait_seconds": round(queue.oldest_wait_seconds, 1),
            "oldest_job": oldest.job_name if oldest else None,
            "oldest_run_id": oldest.run_id if oldest else None,
            "text": queue.describe(),
        },
        "episodes": episodes,
    }


def write_loop_lag(path: Path, record: dict) -> None:
    """The record at `path` and the textfile beside it, each written aside and renamed into
    place (OSError on a full disk)."""
    home = path.parent
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    aside.write_text(json.dumps(record, indent=1))
    os.replace(aside, path)
    (home / TEXTFILE_NAME).parent.mkdir(parents=True, exist_ok=True)
    import prometheus_client  # here: every run process loads the definitions, not this

    prometheus_client.write_to_textfile(str(home / TEXTFILE_NAME), _gauges(record))


def _gauges(record: dict):
    import prometheus_client

    registry = prometheus_client.CollectorRegistry()
    lag, queue = record["lag"], record["queue"]
    if lag is not None:
        prometheus_client.Gauge(
            "continual_ml_monitoring_lag_days",
            "Landed days beyond the newest day with a drift or performance measurement",
            registry=registry,
        ).set(lag["days"])
    prometheus_client.Gauge(
        "continual_ml_queued_runs", "Dagster runs waiting in the queue", registry=registry
    ).set(queue["n_queued"])
    prometheus_client.Gauge(
        "continual_ml_oldest_queued_run_seconds",
        "How long the oldest queued run has waited (0 with none queued)",
        registry=registry,
    ).set(queue["oldest_wait_seconds"])
    episode = prometheus_client.Gauge(
        "continual_ml_loop_lag_alerting",
        "1 while the condition is past its alert limit",
        ["condition"],
        registry=registry,
    )
    for condition in CONDITIONS:
        episode.labels(condition=condition).set(int(record["episodes"].get(condition, False)))
    return registry
