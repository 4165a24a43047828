"""The sensors that bring files in: the landing folder (observations and labels) and the
service's closed prediction logs, each file asked for once, in runs that take many files."""

import time
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from continual_ml.alerts.delivery import Alert
from continual_ml.config import Paths
from continual_ml.decisions.rerequests import NextStep
from continual_ml.defs.data.ingestion import IN_FLIGHT_STATUSES, KIND_TAG, ingest_file_job
from continual_ml.defs.data.landed_batches import (
    LANDED_DAYS,
    LandedDay,
    batches,
    consecutive_groups,
    finished_requests,
    in_flight_requests,
    ingest_request,
    is_among,
    landed_requests,
    monitoring_request,
    queued_landing_runs,
)
from continual_ml.defs.data.landing_cursor import LandingCursor, run_key
from continual_ml.defs.data.landing_scan import Entry, scan_landing, settling_note
from continual_ml.defs.jobs import monitoring_job, sensor_interval
from continual_ml.defs.partitions import daily_partitions
from continual_ml.defs.rerequest import decide, mark_given_up
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.ingestion.file_days import days_in_file
from continual_ml.serving.prediction_log import STALE_OPEN_SECONDS, close_abandoned, closed_logs
from continual_ml.settings import Settings

# A tick looks at the runs (and reads the days) of at most this many files, and stops taking
# more once it has run this long: Dagster times a tick out at 60 s, and a backlog of thousands
# of files drains over the next ticks instead, in the folder's order.
MAX_FILES_PER_TICK = 500
TICK_BUDGET_SECONDS = 20.0
NEW = NextStep("request", 0, "new")


def landing_dir() -> Path:
    return Settings.from_env().landing_dir or Paths.from_env().home / "landing"


def _run_key(path: Path, kind: str) -> str:
    stat = path.stat()
    return run_key(kind, path.name, stat.st_size, stat.st_mtime_ns)


def _landed_day(path: Path, event_time_column: str, conn) -> date | None:
    """The day of a one-day observation file, monitored as it lands; None for any other file
    (several days, none readable, before the partitions), which goes to plain ingestion."""
    days = days_in_file(path, event_time_column, conn)
    if days is None or len(days) != 1 or days[0] < daily_partitions.start.date():
        return None
    return days[0]


def _day_of(entry: Entry, time_column: str, conn, days: dict[str, str]) -> date | None:
    """`_landed_day` of an observation file, read once: remembered in `days` by its key."""
    if entry.key not in days:
        day = _landed_day(entry.path, time_column, conn)
        days[entry.key] = str(day) if day else ""
    return date.fromisoformat(days[entry.key]) if days[entry.key] else None


def _skipped_alert(skipped: dict[str, str], root: Path) -> Alert:
    return Alert(
        "file_skipped",
        f"{len(skipped)} file(s) in the landing folder cannot be ingested",
        "Skipped until they change; the other files keep landing.",
        fields={"folder": str(root)},
        items=sorted(skipped.items()),
        items_title="Skipped",
    )


def _changed_alert(changed: list[str], root: Path) -> Alert:
    # The landing folder's event (the alert events are a fixed list): a file to look at.
    return Alert(
        "file_skipped",
        f"{len(changed)} landed file(s) changed after they were landed",
        "Each new version is ingested as a new file once it settles: its rows already in the "
        "warehouse are quarantined as such (with their reason), its other rows land.",
        fields={"folder": str(root)},
        items=[(name, "a new version") for name in sorted(changed)],
        items_title="Changed",
    )


@dg.sensor(
    jobs=[ingest_file_job, monitoring_job],
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_folder_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource, alerts: AlertsResource
) -> dg.SensorResult:
    """Land files dropped in the landing folder once they stopped changing; one-day files are
    monitored in the same run, and many files share a run.

    A file is taken once its size and mtime held for the settle time (a complete Parquet file
    at once). What cannot be read at all (a dangling symlink, a folder named `x.csv`, a file
    gone or unreadable) is skipped and alerted on once; a file that changes after it landed is
    alerted on and ingested again as a new version; a file whose run failed for an
    infrastructure reason is asked for again, a bounded number of times, then alerted on.
    """
    root, settle_seconds = landing_dir(), Settings.from_env().landing_settle_seconds
    cursor = LandingCursor.read(context.cursor)
    scan = scan_landing(root, cursor, time.time(), settle_seconds)
    if scan.changed:
        alerts.send(_changed_alert(scan.changed, root), context.log)
    todo, notes, days = _look_at(context, scan, cursor, dataset, alerts)
    requests, asked = _requests(context.instance, todo, notes)
    for line in notes + [f"skipped {name}: {reason}" for name, reason in scan.skipped.items()]:
        context.log.warning(line)
    if scan.settling:  # the usual state of a file being written: said, not warned about
        notes.append(settling_note(scan.settling, settle_seconds))
        context.log.info(notes[-1])
    # Alerted once per file and reason: the cursor holds what the last tick already reported.
    current = {f"{name}: {reason}" for name, reason in scan.skipped.items()}
    if current - cursor.reported:
        alerts.send(_skipped_alert(scan.skipped, root), context.log)
    summary = "; ".join(sorted(current)) or f"no new files in {root}"
    seen = {name: s for name, s in scan.seen.items() if name not in scan.settled_names}
    asked |= cursor.asked & ({entry.key for entry in scan.ready} - scan.settled)
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else "; ".join(notes) or summary,
        cursor=LandingCursor(current, scan.settled, seen, asked, days).dump(),
    )


def _look_at(context, scan, cursor, dataset, alerts) -> tuple[dict[str, list], list[str], dict]:
    """Decide what to do with the files ready, within the tick's budget: the files to ask for,
    by kind, notes for the log, and the days read (for the cursor). A file whose run is in
    flight or succeeded costs nothing (four queries find those runs); one whose day was read on
    an earlier tick is not read again."""
    todo: dict[str, list] = {LANDED_DAYS: [], "observations": [], "labels": []}
    notes, checked, later, started = [], 0, 0, time.monotonic()
    ready = {entry.key for entry in scan.ready} - scan.settled
    days = {key: day for key, day in cursor.days.items() if key in ready}
    if not scan.ready:
        return todo, notes, days
    in_flight = in_flight_requests(context.instance)
    # Asked for by this sensor, or in a recent run (whatever the cursor says): its runs decide.
    finished = finished_requests(context.instance)
    known = cursor.asked | {e.key for e in scan.ready if is_among(e.key, finished)}
    landed = landed_requests(context.instance)
    time_column = dataset.config.event_time_column  # the config is read from its file: once
    with duckdb.connect() as conn:  # one in-memory connection reads every file's days
        reading = (time_column, conn, days)
        for entry in scan.ready:
            if is_among(entry.key, in_flight):
                continue
            if is_among(entry.key, landed):  # settled at the cost of a lookup, out of the budget
                scan.settled.add(entry.key)
                scan.settled_names.add(entry.name)
                continue
            if checked >= MAX_FILES_PER_TICK or time.monotonic() - started > TICK_BUDGET_SECONDS:
                later += 1
                continue
            checked += 1
            _look_at_one(context, entry, scan, todo, notes, reading, alerts, known)
    if later:
        notes.append(f"{later} file(s) ready wait for the next tick (at most {checked} a tick)")
    return todo, notes, {key: day for key, day in days.items() if key not in scan.settled}


def _look_at_one(context, entry: Entry, scan, todo, notes, reading, alerts, known):
    # Never asked for: no runs to read (with a lost cursor, Dagster drops a run key used before).
    step, runs = decide(context.instance, entry.key) if entry.key in known else (NEW, [])
    if step.step == "request":
        try:
            day = None if entry.kind == "labels" else _day_of(entry, *reading)
        except OSError as error:  # gone between the listing and now
            scan.skipped[entry.name] = f"gone before it could be read ({error.strerror or error})"
            return
        if entry.kind == "labels" or day is None:
            todo[entry.kind].append((entry, step.attempt))
        else:
            todo[LANDED_DAYS].append(LandedDay(day, entry.path, entry.key, step.attempt))
        if step.attempt:
            notes.append(f"{entry.name}: asking again, its last run {step.reason}")
    elif step.step in ("done", "give_up"):
        scan.settled.add(entry.key)
        scan.settled_names.add(entry.name)
    if step.step == "give_up" and mark_given_up(context.instance, runs):
        alerts.send(
            Alert(
                "run_failed",
                f"Gave up on landing {entry.name}",
                f"Its runs {step.reason}; drop it again to retry.",
                {"run id": runs[-1].dagster_run.run_id, "file": entry.name},
            ),
            context.log,
        )


def _requests(instance, todo: dict[str, list], notes: list[str]) -> tuple[list, set[str]]:
    """The runs to ask for, each kind in runs of many files, none while one of its kind waits;
    and the keys of the files they ask for."""
    queued = queued_landing_runs(instance) if any(todo.values()) else {}
    requests, asked = [], set()
    for kind, waiting in todo.items():
        if waiting and kind in queued:
            what = "landed day(s)" if kind == LANDED_DAYS else f"{kind} file(s)"
            run_id = queued[kind]
            notes.append(f"{len(waiting)} {what} wait for the run after {run_id}, still queued")
        elif kind == LANDED_DAYS:
            requests += [monitoring_request(group) for group in consecutive_groups(waiting)]
            asked.update(item.request_key for item in waiting)
        else:
            for batch in batches(waiting):
                paths, keys = [e.path for e, _ in batch], [e.key for e, _ in batch]
                attempt = max(attempt for _, attempt in batch)
                requests.append(ingest_request(paths, keys, kind, "monitoring", attempt))
                asked.update(keys)
    return requests, asked


@dg.sensor(
    job=ingest_file_job,
    # Gathers the service's logs into fewer, larger runs (one in flight at a time), often
    # enough that a closed log is in DuckDB within a minute under load: in a lane of their own,
    # the next run is asked for within a tick of two intervals after the last one ended.
    minimum_interval_seconds=sensor_interval(2),
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
        run_requests=[
            ingest_request(logs, [request_key], "prediction_log", "prediction_log", step.attempt)
        ]
    )
