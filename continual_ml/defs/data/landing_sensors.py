"""The sensors that bring files in: the landing folder (observations and labels) and the
service's closed prediction logs, each file asked for once, by a run of `ingest_file_job`."""

import json
from datetime import date
from pathlib import Path

import dagster as dg

from continual_ml.alerts.delivery import Alert
from continual_ml.config import Paths
from continual_ml.defs.data.ingestion import (
    IN_FLIGHT_STATUSES,
    KIND_TAG,
    LANDING_SUFFIXES,
    ingest_file_job,
)
from continual_ml.defs.data.landed_batches import (
    LandedDay,
    consecutive_groups,
    monitoring_request,
    queued_landing_run,
)
from continual_ml.defs.jobs import monitoring_job, queue_tags, sensor_interval
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.rerequest import attempt_run_key, decide, mark_given_up, request_tags
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.ingestion.file_days import days_in_file
from continual_ml.ingestion.files import unlandable_reason
from continual_ml.serving.prediction_log import STALE_OPEN_SECONDS, close_abandoned, closed_logs
from continual_ml.settings import Settings


def landing_dir() -> Path:
    return Settings.from_env().landing_dir or Paths.from_env().home / "landing"


def _run_key(path: Path, kind: str) -> str:
    # The run key names this version of the file; ingestion's sha256 record catches a
    # same-content copy under another name, and a retried run.
    stat = path.stat()
    return f"{kind}:{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def _ingest_request(paths: list[Path], kind: str, priority: str, attempt: int = 0) -> dg.RunRequest:
    request_key = ",".join(_run_key(path, kind) for path in paths)
    return dg.RunRequest(
        run_key=attempt_run_key(request_key, attempt),
        job_name=ingest_file_job.name,
        run_config={
            "ops": {
                "ingest_landed_file": {
                    "config": {"paths": [str(path) for path in paths], "kind": kind}
                }
            }
        },
        tags={
            "continual_ml/file": paths[0].name,
            KIND_TAG: kind,
            **queue_tags(priority),
            **request_tags(request_key),
        },
    )


def _landed_day(path: Path, dataset: DatasetResource) -> date | None:
    """The day of a one-day observation file, monitored as it lands; None for any other file
    (several days, none readable, before the partitions), which goes to plain ingestion."""
    days = days_in_file(path, dataset.config.event_time_column)
    if days is None or len(days) != 1 or days[0] < daily_partitions.start.date():
        return None
    return days[0]


def _listed(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in LANDING_SUFFIXES)


def _skipped_alert(skipped: dict[str, str], root: Path) -> Alert:
    return Alert(
        "file_skipped",
        f"{len(skipped)} file(s) in the landing folder cannot be ingested",
        "Skipped until they change; the other files keep landing.",
        fields={"folder": str(root)},
        items=sorted(skipped.items()),
        items_title="Skipped",
    )


@dg.sensor(
    jobs=[ingest_file_job, monitoring_job],
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_folder_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource, alerts: AlertsResource
) -> dg.SensorResult:
    """Land files dropped in the landing folder; a one-day file is monitored in the same run.

    What cannot be read at all (a dangling symlink, a folder named `x.csv`, a file gone or
    unreadable) is skipped and alerted on once; a file whose run failed for an infrastructure
    reason is asked for again, a bounded number of times, then alerted on.
    """
    root = landing_dir()
    entries = [(p, "observations") for p in _listed(root)]
    entries += [(p, "labels") for p in _listed(root / "labels")]
    reported, settled = _read_cursor(context.cursor)
    requests, skipped, notes, landed, still_settled = [], {}, [], [], set()
    for path, kind in entries:
        name = str(path.relative_to(root))
        step = None
        try:
            reason = unlandable_reason(path)
            key = None if reason else _run_key(path, kind)
            if key in settled:  # landed (or given up on) already: its runs are not read again
                still_settled.add(key)
                continue
            # A file already requested is not read again to route it: its runs say it was seen.
            step, runs = (None, []) if reason else decide(context.instance, key)
            if step is not None and step.step == "request":
                day = _landed_day(path, dataset) if kind == "observations" else None
                if day is not None:
                    landed.append(LandedDay(day, path, key, step.attempt))
                else:
                    requests.append(_ingest_request([path], kind, "monitoring", step.attempt))
        except OSError as error:  # gone or changed between the listing and now
            reason = f"gone before it could be read ({error.strerror or error})"
        if reason:
            skipped[name] = reason
        elif step.step == "done":
            still_settled.add(key)
        elif step.step == "request" and step.attempt:
            notes.append(f"{name}: asking again, its last run {step.reason}")
        elif step.step == "give_up":
            still_settled.add(key)
            if mark_given_up(context.instance, runs):
                alerts.send(
                    Alert(
                        "run_failed",
                        f"Gave up on landing {name}",
                        f"Its runs {step.reason}; drop it again to retry.",
                        {"run id": runs[-1].dagster_run.run_id, "file": name},
                    ),
                    context.log,
                )
    if landed and (queued := queued_landing_run(context.instance)):
        notes.append(f"{len(landed)} landed day(s) wait for the run after {queued}, still queued")
    elif landed:
        requests += [monitoring_request(group) for group in consecutive_groups(landed)]
    for line in notes + [f"skipped {name}: {reason}" for name, reason in skipped.items()]:
        context.log.warning(line)
    # Alerted once per file and reason: the cursor holds what the last tick already reported.
    current = {f"{name}: {reason}" for name, reason in skipped.items()}
    if current - reported:
        alerts.send(_skipped_alert(skipped, root), context.log)
    summary = "; ".join(sorted(current)) or f"no new files in {root}"
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else "; ".join(notes) or summary,
        cursor=json.dumps({"reported": sorted(current), "settled": sorted(still_settled)}),
    )


def _read_cursor(cursor: str | None) -> tuple[set[str], set[str]]:
    """What the last tick reported as skipped, and the files it found settled: landed, or given
    up on. A settled file is not asked about again (its runs are two or three queries of the run
    storage), so a tick costs about the same whether the folder holds ten files or a year of
    them; a changed file has a new key and is seen afresh."""
    if not cursor:
        return set(), set()
    state = json.loads(cursor)
    if isinstance(state, list):  # the cursor of earlier versions: the reported skips alone
        return set(state), set()
    return set(state["reported"]), set(state["settled"])


@dg.sensor(
    job=ingest_file_job,
    # Gathers the service's logs into fewer, larger runs (one in flight at a time), often
    # enough that a closed log is in DuckDB within a minute under load.
    minimum_interval_seconds=sensor_interval(4),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def prediction_log_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Ingest the service's closed prediction and feedback logs, each file once.

    One run per backlog: while a prediction-log run is queued or running, the logs it names are
    its own and no other run is asked for (a run that lands them moves them out of the folder,
    so the next one takes only what came after)."""
    directory = Paths.from_env().prediction_logs
    # A worker killed outright never closes its log; untouched this long, it never will.
    close_abandoned(directory, older_than_seconds=STALE_OPEN_SECONDS)
    in_flight = context.instance.get_run_records(
        dg.RunsFilter(
            job_name=ingest_file_job.name,
            tags={KIND_TAG: "prediction_log"},
            statuses=IN_FLIGHT_STATUSES,
        ),
        limit=1,
    )
    if in_flight:
        run_id = in_flight[0].dagster_run.run_id
        return dg.SensorResult(skip_reason=f"run {run_id} is landing the logs already claimed")
    # Predictions before feedback: a label can only join a prediction that is already in.
    logs = sorted(
        closed_logs(directory), key=lambda p: (not p.name.startswith("predictions"), p.name)
    )
    if not logs:
        return dg.SensorResult(skip_reason=f"no closed prediction logs in {directory}")
    # All of them in one run, so the run slots are not taken once per small file; the same
    # list asked for again (its run failed for an infrastructure reason) gets a new attempt.
    try:
        request_key = ",".join(_run_key(p, "prediction_log") for p in logs)
    except OSError:  # a log moved away by a run that just finished: the next tick sees it gone
        return dg.SensorResult(skip_reason="the prediction logs changed while listed")
    step, _ = decide(context.instance, request_key)
    if step.step != "request":
        return dg.SensorResult(skip_reason=f"{len(logs)} logs: {step.reason}")
    return dg.SensorResult(
        run_requests=[_ingest_request(logs, "prediction_log", "prediction_log", step.attempt)]
    )
