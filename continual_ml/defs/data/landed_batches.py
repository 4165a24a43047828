"""Landed days monitored together: one run over every day waiting, not one run per file.

A run's start (a process, the code location's imports) costs more than landing and monitoring a
day, so under load the landing sensor asks for one run over the consecutive days that wait, as a
single-run backfill of `monitoring_job` over their partition range. While such a run is still
queued, new files wait for the next one rather than queue a run each.
"""

from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import dagster as dg

from continual_ml.defs.jobs import monitoring_job
from continual_ml.defs.partitions import days_request
from continual_ml.defs.rerequest import attempt_run_key, member_tags, request_tags

KIND_TAG = "continual_ml/kind"
LANDED_DAYS = "landed_days"
WAITING = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED]


class LandedDay(NamedTuple):
    day: date
    path: Path
    request_key: str  # the file's own: a file is asked for again on its own
    attempt: int


def queued_landing_run(instance: dg.DagsterInstance) -> str | None:
    """A landing run that has not started yet (the next files can join the one after it)."""
    records = instance.get_run_records(
        dg.RunsFilter(job_name=monitoring_job.name, tags={KIND_TAG: LANDED_DAYS}, statuses=WAITING),
        limit=1,
    )
    return records[0].dagster_run.run_id if records else None


def consecutive_groups(landed: list[LandedDay]) -> list[list[LandedDay]]:
    """The files grouped into runs of consecutive days (a range run covers every day in it)."""
    groups: list[list[LandedDay]] = []
    for item in sorted(landed, key=lambda item: (item.day, item.path.name)):
        if groups and item.day - groups[-1][-1].day <= timedelta(days=1):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def monitoring_request(group: list[LandedDay]) -> dg.RunRequest:
    """Land the group's files and monitor their days in one run."""
    days = sorted({str(item.day) for item in group})
    request_key = ",".join(item.request_key for item in group)
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
