"""`continual-ml status`: the champion, the latest drift and performance, recent runs and alerts.

Everything comes from Dagster's instance, the champion pointer, the alert record and the running
service; never from the DuckDB file, which a run may be writing at that moment.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import httpx

from continual_ml.alerts.delivery import recent_alerts
from continual_ml.app.supervision.disk_space import MB, disk_state
from continual_ml.app.supervision.live_system import read_state
from continual_ml.config import Paths
from continual_ml.models.store import read_pointer
from continual_ml.monitoring.loop_lag import queue_wait
from continual_ml.monitoring.loop_lag_record import read_loop_lag
from continual_ml.settings import Settings


def _latest(instance, key: str) -> tuple[str | None, dict]:
    """The newest partition's newest materialization metadata of an asset."""
    import dagster as dg

    records = instance.fetch_materializations(dg.AssetKey(key), limit=200, ascending=False).records
    if not records:
        return None, {}
    newest = max(records, key=lambda r: (r.asset_materialization.partition or "", r.timestamp))
    materialization = newest.asset_materialization
    return materialization.partition, {k: v.value for k, v in materialization.metadata.items()}


def _label_ledger(instance) -> dict:
    """The newest count of labels matched, waiting and for quarantined rows (`labels`' ledger
    observation, which every ingestion of observations or labels records)."""
    import dagster as dg

    found = instance.fetch_observations(dg.AssetKey("labels"), limit=100, ascending=False)
    for record in found.records:
        metadata = record.asset_observation.metadata
        if "labels_in" in metadata:
            return {k: v.value for k, v in metadata.items()}
    return {}


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _number(value, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def _version(value) -> str:
    return str(int(value)) if isinstance(value, int | float) else "-"


def _supervision_line(supervision: dict[str, dict]) -> str:
    troubled = {
        name: s for name, s in supervision.items() if s["restarts"] or s["state"] != "running"
    }
    if not supervision:
        return "supervision: starting"
    if not troubled:
        return f"supervision: {len(supervision)} components up, none restarted"
    return "supervision: " + "; ".join(
        f"{name} {s['state']}, restarted {s['restarts']}x"
        + (f" (last {s['last_restart_at']}: {s['last_reason']})" if s["last_restart_at"] else "")
        for name, s in troubled.items()
    )


def disk_line(paths: Paths) -> str:
    """The home's free space, and whether it is low (a warning) or full (writes fail)."""
    if not paths.home.exists():
        return "disk: no home yet"
    usage = shutil.disk_usage(paths.home)
    warn = Settings.from_env().disk_warn_free_mb * MB
    state = disk_state(usage.free, warn)
    return (
        f"disk: {state.upper() if state != 'ok' else 'ok'}, {usage.free / MB:,.0f} MB free of "
        f"{usage.total / MB:,.0f} MB (warning below {warn / MB:,.0f} MB)"
    )


def lag_lines(instance, paths: Paths) -> list[str]:
    """The run queue now, and the monitoring lag as `loop_lag_sensor` last read it."""
    from continual_ml.defs.monitoring.loop_lag_sensor import queued_runs

    settings, record = Settings.from_env(), read_loop_lag(paths.loop_lag_record)
    queue = queue_wait(queued_runs(instance), datetime.now(UTC))
    over = queue.oldest_wait_seconds > settings.queue_alert_minutes * 60
    lines = [f"queue: {queue.describe()}" + (" [OVER LIMIT]" if over else "")]
    lag = record.get("lag")
    if lag is None:
        lines.append("monitoring lag: not read yet (loop_lag_sensor records it)")
    else:
        over = lag["days"] > settings.lag_alert_days
        lines.append(
            f"monitoring lag: {lag['text']} (read {lag['read_at']}, alert past "
            f"{settings.lag_alert_days} days)" + (" [OVER LIMIT]" if over else "")
        )
    return lines


def status_lines(paths: Paths, n_runs: int = 5, n_alerts: int = 5) -> list[str]:
    import dagster as dg

    lines = []
    pointer = read_pointer(paths.bentoml_home)
    if pointer is None:
        lines.append(
            "champion: none yet (`continual-ml bootstrap` trains one on your ingested history)"
        )
    else:
        lines.append(
            f"champion: v{pointer['version']} (sha256 {pointer['sha256'][:12]}) "
            f"promoted {pointer.get('promoted_at', '-')}"
        )
    state = read_state(paths)
    if state:
        lines.append("live: " + ", ".join(f"{k} {v}" for k, v in state["urls"].items()))
        try:
            served = httpx.get(f"{state['urls']['service']}/model", timeout=3).json()
            lines.append(f"service: serving v{served.get('model_version')}")
        except (httpx.HTTPError, ValueError):
            lines.append("service: not answering")
        lines.append(_supervision_line(state.get("supervision", {})))
    else:
        lines.append("live: not running")

    instance = dg.DagsterInstance.get()
    day, drift = _latest(instance, "drift_report")
    if day:
        lines.append(
            f"drift: {day} share {_number(drift.get('drift_share'), 2)} "
            f"({drift.get('n_drifted_features', '-')} features drifted)"
        )
    day, performance = _latest(instance, "model_performance")
    if day:
        lines.append(
            f"performance: {day} champion v{_version(performance.get('champion_version'))} "
            f"realized accuracy {_number(performance.get('realized_accuracy'))}, "
            f"estimated {_number(performance.get('estimated_accuracy'))}"
        )
    ledger = _label_ledger(instance)
    if ledger:
        lines.append(
            f"labels: {ledger['labels_in']} in: {ledger['labels_matched']} matched, "
            f"{ledger['labels_waiting']} waiting for their rows, "
            f"{ledger['labels_for_quarantined_rows']} for quarantined rows (not waited for)"
        )
    _, served = _latest(instance, "served_model_performance")
    if served.get("n_predictions"):
        lines.append(
            f"served traffic: v{served['model_version']} {served['n_predictions']} predictions, "
            f"{served['n_labelled']} with feedback, realized accuracy "
            f"{_number(served.get('realized_accuracy'))}, "
            f"p99 {_number(served['latency_p99_ms'], 1)} ms"
        )
    lines += lag_lines(instance, paths)
    lines.append("runs:")
    for record in instance.get_run_records(limit=n_runs):
        run = record.dagster_run
        lines.append(
            f"  {_when(record.create_timestamp.timestamp())}  {run.job_name:<22} "
            f"{run.status.value:<9} {run.tags.get('dagster/partition', '')}"
        )
    alerts = recent_alerts(paths.alerts_record, n_alerts)
    lines.append("alerts:" if alerts else "alerts: none")
    lines += [f"  {a['at']}  {a['line']}" for a in alerts]
    return lines
