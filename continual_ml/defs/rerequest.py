"""Sensor requests that are asked again, a bounded number of times, when their run failed for
an infrastructure reason (the rules are in `continual_ml.decisions.rerequests`)."""

import hashlib

import dagster as dg

from continual_ml.decisions.rerequests import Attempt, NextStep, next_step

REQUEST_TAG = "continual_ml/request"  # the first request's run key, on every attempt's run
GAVE_UP_TAG = "continual_ml/gave_up"


def attempt_run_key(request_key: str, attempt: int) -> str:
    return request_key if attempt == 0 else f"{request_key}#attempt{attempt + 1}"


def request_tags(request_key: str) -> dict[str, str]:
    return {REQUEST_TAG: request_key}


def member_tag(request_key: str) -> str:
    """The tag naming one request (a landed file) among several that share a run."""
    return f"continual_ml/member.{hashlib.sha1(request_key.encode()).hexdigest()[:20]}"


def member_tags(request_keys: list[str]) -> dict[str, str]:
    return {member_tag(key): "true" for key in request_keys}


def _attempt(record) -> Attempt:
    run = record.dagster_run
    return Attempt(
        status=run.status.value,
        failure_reason=run.tags.get("dagster/failure_reason"),
        will_retry=run.tags.get("dagster/will_retry") == "true",
        is_run_retry="dagster/retry_number" in run.tags,
    )


def runs_of(instance: dg.DagsterInstance, request_key: str) -> list:
    """Every run made for a request, oldest first: its own runs, the runs it shared with others
    (several landed days in one run), and runs from before the request tag existed (by their
    run key)."""
    records = instance.get_run_records(dg.RunsFilter(tags={REQUEST_TAG: request_key}))
    shared = instance.get_run_records(dg.RunsFilter(tags={member_tag(request_key): "true"}))
    records = list({r.dagster_run.run_id: r for r in [*records, *shared]}.values())
    if not records:
        records = instance.get_run_records(dg.RunsFilter(tags={"dagster/run_key": request_key}))
    return sorted(records, key=lambda r: r.create_timestamp)


def decide(instance: dg.DagsterInstance, request_key: str) -> tuple[NextStep, list]:
    runs = runs_of(instance, request_key)
    return next_step([_attempt(r) for r in runs]), runs


def mark_given_up(instance: dg.DagsterInstance, runs: list) -> bool:
    """Tag the last run as given up on; False if it already was (so the alert goes out once)."""
    last = runs[-1].dagster_run
    if last.tags.get(GAVE_UP_TAG):
        return False
    instance.add_run_tags(last.run_id, {GAVE_UP_TAG: "true"})
    return True


def requests_to_ask_again(
    instance: dg.DagsterInstance, job_name: str, tags: dict[str, str], limit: int = 20
) -> list[tuple[str, NextStep, dg.DagsterRun]]:
    """(request key, next step, last run) of the job's recent requests (with `tags`) whose last
    run failed and that may be asked for again."""
    failed = instance.get_run_records(
        dg.RunsFilter(job_name=job_name, tags=tags, statuses=[dg.DagsterRunStatus.FAILURE]),
        limit=limit,
    )
    keys = {
        r.dagster_run.tags.get(REQUEST_TAG) or r.dagster_run.tags.get("dagster/run_key")
        for r in failed
    }
    again = []
    for key in sorted(k for k in keys if k):
        step, runs = decide(instance, key)
        if step.step == "request":
            again.append((key, step, runs[-1].dagster_run))
    return again
