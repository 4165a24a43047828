"""Sensors that survive a messy landing folder, ask again for work that infrastructure dropped
(never for work that failed on its merits), and keep one prediction-log run per backlog."""

import json
import os

import dagster as dg
import pytest
from dagster._core.events import JobFailureData, RunFailureReason
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.test_utils import create_run_for_test

from continual_ml.decisions.queue_aging import AGING_CAP
from continual_ml.decisions.rerequests import Attempt, next_step
from continual_ml.defs.data.ingestion import ingest_file_job
from continual_ml.defs.data.landing_sensors import prediction_log_sensor
from continual_ml.defs.jobs import queue_tags
from continual_ml.defs.run_health import age_queued_runs, queue_aging_sensor
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.ingestion.files import unlandable_reason
from continual_ml_tests.support.landing import closed_prediction_log, retrain_tick, tick

NO_FILES = {"ops": {"ingest_landed_file": {"config": {"paths": []}}}}


def alerts_of(home) -> list[dict]:
    record = home.alerts_record
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def test_unlandable_entries_are_skipped_and_reported_once(home, config, instance, landing):  # noqa: F811
    generate_batch(config, partition_date(config, 0)).head(30).to_csv(
        landing / "good.csv", index=False
    )
    (landing / "dangling.csv").symlink_to(landing / "nowhere.csv")
    (landing / "adir.csv").mkdir()
    (landing / "loop.csv").symlink_to(landing / "loop.csv")  # stat fails: cannot be read
    os.mkfifo(landing / "pipe.csv")  # reading it would block the sensor forever
    (landing / "labels").mkdir()
    (landing / "labels" / "gone.parquet").symlink_to(landing / "missing.parquet")
    first = tick(instance, home)
    [request] = first.run_requests
    assert request.run_config["ops"]["observations"]["config"]["landed_files"] == [
        str(landing / "good.csv")
    ]
    reported = json.loads(first.cursor)["reported"]
    assert reported == [
        "adir.csv: a directory",
        "dangling.csv: a dangling symlink",
        "labels/gone.parquet: a dangling symlink",
        "loop.csv: cannot be read (Too many levels of symbolic links)",
        "pipe.csv: not a regular file",
    ]
    [alert] = alerts_of(home)
    assert alert["event"] == "file_skipped" and "5 file(s)" in alert["line"]
    # Reported once: the next tick, still skipping them, does not alert again.
    tick(instance, home, cursor=first.cursor)
    assert len(alerts_of(home)) == 1


def test_a_file_gone_after_listing_is_named_so():
    from pathlib import Path

    assert unlandable_reason(Path("/nonexistent/day.csv")) == "gone before it could be read"


def _fail(instance, run, reason: RunFailureReason):
    """Fail a run as Dagster does: run monitoring for a dead worker, the executor for a step."""
    instance.report_run_failed(run, job_failure_data=JobFailureData(None, reason))


def test_a_file_whose_run_crashed_is_asked_for_again_a_bounded_number_of_times(
    home,
    config,
    instance,
    landing,
):
    generate_batch(config, partition_date(config, 0)).head(30).to_csv(
        landing / "day.csv", index=False
    )
    keys = []
    for _ in range(3):
        [request] = tick(instance, home).run_requests
        keys.append(request.run_key)
        run = started_run(instance, request)
        assert tick(instance, home).run_requests == []  # in flight: nothing new
        _fail(instance, instance.get_run_by_id(run.run_id), RunFailureReason.UNEXPECTED_TERMINATION)
    assert [k.rsplit("#", 1)[-1] for k in keys[1:]] == ["attempt2", "attempt3"]
    assert tick(instance, home).run_requests == []  # three requests crashed: given up
    assert [a["event"] for a in alerts_of(home)] == ["run_failed"]
    assert "Gave up on landing day.csv" in alerts_of(home)[0]["line"]
    tick(instance, home)
    assert len(alerts_of(home)) == 1  # once


def started_run(instance, request):
    """The run the daemon would have made for a request (which job it is does not matter here:
    the sensor finds a request's runs by their tags)."""
    return instance.create_run_for_job(
        ingest_file_job,
        run_config=NO_FILES,
        tags={**request.tags, "dagster/run_key": request.run_key},
        status=dg.DagsterRunStatus.STARTED,
    )


def test_a_step_failure_is_not_asked_for_again(home, config, instance, landing):  # noqa: F811
    generate_batch(config, partition_date(config, 0)).head(30).to_csv(
        landing / "day.csv", index=False
    )
    [request] = tick(instance, home).run_requests
    run = started_run(instance, request)
    _fail(instance, run, RunFailureReason.STEP_FAILURE)
    assert tick(instance, home).run_requests == []


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        ([], ("request", 0)),
        ([Attempt("FAILURE", "RUN_WORKER_RESTART", will_retry=True)], ("wait", 0)),
        (
            [
                Attempt("FAILURE", "UNEXPECTED_TERMINATION"),
                Attempt("FAILURE", "UNEXPECTED_TERMINATION", is_run_retry=True),
            ],
            ("request", 1),
        ),
        ([Attempt("FAILURE", None), Attempt("SUCCESS")], ("done", 0)),
        ([Attempt("CANCELED")], ("done", 0)),
        ([Attempt("FAILURE", "STEP_FAILURE")], ("done", 0)),
        ([Attempt("FAILURE", "START_TIMEOUT")] * 3, ("give_up", 3)),
    ],
)
def test_the_rules_for_asking_again(attempts, expected):
    step = next_step(attempts)
    assert (step.step, step.attempt) == expected


def queued_run(instance, tags):
    """A run waiting in the queue, as the daemon's sensors submit it."""
    location = GrpcServerCodeLocationOrigin(host="127.0.0.1", port=4000)
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), "ingest_file_job")
    return create_run_for_test(
        instance,
        ingest_file_job.name,
        tags=tags,
        status=dg.DagsterRunStatus.QUEUED,
        remote_job_origin=origin,
    )


def test_one_prediction_log_run_per_backlog(home, config, instance):
    closed_prediction_log(home, config, ["p1"])
    [request] = prediction_log_sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance)
    ).run_requests
    queued_run(instance, {**request.tags, "dagster/run_key": request.run_key})
    closed_prediction_log(home, config, ["p2"])  # more logs while the first run waits in the queue
    result = prediction_log_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert result.run_requests == []  # no second run with an overlapping list
    assert "is landing the logs already claimed" in result.skip_message


def test_waiting_runs_rise_in_priority_up_to_the_retrains_below_logs_and_landed_days(instance):
    from datetime import UTC, datetime, timedelta

    run = queued_run(instance, {"dagster/priority": "0"})
    assert age_queued_runs(instance, datetime.now(UTC)) == 0  # just queued
    assert instance.get_run_by_id(run.run_id).tags["dagster/priority"] == "0"
    assert age_queued_runs(instance, datetime.now(UTC) + timedelta(seconds=95)) == 1
    assert instance.get_run_by_id(run.run_id).tags["dagster/priority"] == "3"
    age_queued_runs(instance, datetime.now(UTC) + timedelta(hours=1))
    assert instance.get_run_by_id(run.run_id).tags["dagster/priority"] == str(AGING_CAP)
    assert AGING_CAP < int(queue_tags("prediction_log")["dagster/priority"])
    assert AGING_CAP < int(queue_tags("monitoring")["dagster/priority"])
    # they then take turns with the retrains, oldest first, however many the policy asks for
    assert AGING_CAP == int(queue_tags("retrain")["dagster/priority"])
    result = queue_aging_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert "1 runs queued" in result.skip_message


def test_a_policy_retrain_that_crashed_is_asked_for_again_once_not_after_a_refusal(instance):
    from continual_ml.definitions import defs
    from continual_ml.defs.automation import retrain_run_key

    key = retrain_run_key("2026-01-11")
    tags = {"continual_ml/trigger": "policy", "continual_ml/request": key, "dagster/run_key": key}
    retrain_job = defs.resolve_job_def("retrain_job")

    def failed_retrain(reason, run_key):
        run = instance.create_run_for_job(
            retrain_job,
            tags={**tags, "dagster/run_key": run_key, "dagster/partition": "2026-01-11"},
            status=dg.DagsterRunStatus.STARTED,
        )
        _fail(instance, run, reason)

    failed_retrain(RunFailureReason.UNEXPECTED_TERMINATION, key)
    [request] = retrain_tick(instance).run_requests
    assert request.run_key == f"{key}#attempt2" and request.partition_key == "2026-01-11"
    assert request.tags["continual_ml/request"] == key
    # That attempt reached the gate, which refused its candidate: a step failure, not retried.
    failed_retrain(RunFailureReason.STEP_FAILURE, request.run_key)
    assert retrain_tick(instance).run_requests == []
