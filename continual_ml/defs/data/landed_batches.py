"""Landed files gathered into runs: one run over many files, not one run per file.

A run's start (a process, the code location's imports) costs more than landing and monitoring a
day, so under load the landing sensor asks for one run over the consecutive days that wait, as a
single-run backfill of `monitoring_job` over their partition range, and one `ingest_file_job`
run over the label files (or the files of several days) that wait. While a run of a kind is
still queued, new files of that kind wait for the next one rather than queue a run each. A run
takes at most `MAX_FILES_PER_RUN` files, so one that fails does not take a backlog down with it.
"""

import hashlib
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import dagster as dg

from continual_ml.defs.data.ingestion import IN_FLIGHT_STATUSES, ingest_file_job
from continual_ml.defs.jobs import monitoring_job, queue_tags
from continual_ml.defs.partitions import days_request
from continual_ml.defs.rerequest import (
    REQUEST_TAG,
    attempt_run_key,
    member_tag,
    member_tags,
    request_tags,
)

KIND_TAG = "continual_ml/kind"
LANDED_DAYS = "landed_days"
WAITING = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED]
MAX_FILES_PER_RUN = 100


class LandedDay(NamedTuple):
    day: date
    path: Path
    request_key: str  # the file's own: a file is asked for again on its own
    attempt: int


def queued_landing_runs(instance: dg.DagsterInstance) -> dict[str, str]:
    """Kind ("landed_days", "observations", "labels") -> a run of it that has not started yet
    (the next files of that kind can join the one after it)."""
    queued: dict[str, str] = {}
    for job_name in (monitoring_job.name, ingest_file_job.name):
        for record in instance.get_run_records(
            dg.RunsFilter(job_name=job_name, statuses=WAITING), limit=50
        ):
            run = record.dagster_run
            queued.setdefault(run.tags.get(KIND_TAG, ""), run.run_id)
    return queued


def landing_requests(instance: dg.DagsterInstance, statuses, limit: int | None = None) -> set[str]:
    """The request keys and member tags of the landing runs in these statuses, from two
    queries: how a tick knows a file's runs without looking each file up."""
    found: set[str] = set()
    for job_name in (monitoring_job.name, ingest_file_job.name):
        for record in instance.get_run_records(
            dg.RunsFilter(job_name=job_name, statuses=statuses), limit=limit
        ):
            tags = record.dagster_run.tags
            found.update(name for name in tags if name.startswith("continual_ml/member."))
            # Runs from before the request tag existed carry the file's key as their run key.
            found.update(tags[t] for t in (REQUEST_TAG, "dagster/run_key") if t in tags)
    return found


def in_flight_requests(instance: dg.DagsterInstance) -> set[str]:
    """Files among these need no look at their runs this tick: their run is not done."""
    return landing_requests(instance, IN_FLIGHT_STATUSES)


def finished_requests(instance: dg.DagsterInstance, limit: int = 200) -> set[str]:
    """The files of the latest finished landing runs: done, or to be asked for again."""
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    return landing_requests(instance, [*finished, dg.DagsterRunStatus.CANCELED], limit)


def landed_requests(instance: dg.DagsterInstance, limit: int = 200) -> set[str]:
    """The files of the latest successful landing runs: landed, with no runs to look up."""
    return landing_requests(instance, [dg.DagsterRunStatus.SUCCESS], limit)


def is_among(request_key: str, found: set[str]) -> bool:
    """Whether a file's request is among those found (by its own key or as a run's member)."""
    return request_key in found or member_tag(request_key) in found


def batches(items: list, size: int = MAX_FILES_PER_RUN) -> Iterator[list]:
    """`items` in runs of at most `size`.

    >>> [len(b) for b in batches(list(range(250)))]
    [100, 100, 50]
    """
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_key(request_keys: Iterable[str]) -> str:
    """One request's key for several files: the file's own key for one, else a digest of them
    all (each file is also tagged as a member, which is how its runs are found)."""
    keys = list(request_keys)
    if len(keys) == 1:
        return keys[0]
    digest = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:20]
    return f"batch:{len(keys)}:{digest}"


def ingest_request(
    paths: list[Path], request_keys: list[str], kind: str, priority: str, attempt: int = 0
) -> dg.RunRequest:
    """Ingest these files, in order, in one run of `ingest_file_job`."""
    request_key = batch_key(request_keys)
    members = member_tags(request_keys) if len(request_keys) > 1 else {}
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
            **members,
        },
    )


def consecutive_groups(
    landed: list[LandedDay], max_files: int = MAX_FILES_PER_RUN
) -> list[list[LandedDay]]:
    """The files grouped into runs of consecutive days (a range run covers every day in it), at
    most `max_files` a run unless more share one day (a day is never split between runs)."""
    groups: list[list[LandedDay]] = []
    for item in sorted(landed, key=lambda item: (item.day, item.path.name)):
        last = groups[-1][-1].day if groups else None
        full = groups and len(groups[-1]) >= max_files and item.day != last
        if groups and not full and item.day - last <= timedelta(days=1):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def monitoring_request(group: list[LandedDay]) -> dg.RunRequest:
    """Land the group's files and monitor their days in one run."""
    days = sorted({str(item.day) for item in group})
    request_key = batch_key(item.request_key for item in group)
    partitions = days_request(days)
    return dg.RunRequest(
        run_key=attempt_run_key(request_key, max(item.attempt for item in group)),
        job_name=monitoring_job.name,
        partition_key=partitions.get("partition_key"),
        run_config={
            "ops": {"observations": {"config": {"landed_files": [str(i.path) for i in group]}}}
        },
        tags={
            **partitions["tags"],
            "continual_ml/file": group[0].path.name,
            KIND_TAG: LANDED_DAYS,
            **request_tags(request_key),
            **member_tags([item.request_key for item in group]),
        },
    )
