"""Jobs, and the sensors that retrain on drift and report failed runs."""

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from continual_ml.alerts import Alert
from continual_ml.defs.data.ingestion import ingest_file_job
from continual_ml.defs.jobs import (
    AGING_CAP,
    AGING_STEP_SECONDS,
    SENSOR_INTERVAL_SECONDS,
    drift_explanation_job,
    monitoring_job,
    performance_job,
    priority_tag,
    retrain_job,
)
from continual_ml.defs.metadata import run_url
from continual_ml.defs.rerequest import attempt_run_key, request_tags, requests_to_ask_again
from continual_ml.defs.resources import AlertsResource, DatasetResource
from continual_ml.defs.training.operations import approval_job, rollback_job
from continual_ml.queue_aging import aged_priority
from continual_ml.retrain_policy import (
    PartitionObservation,
    RetrainPolicy,
    decide_retrain,
    follow_up_partition,
)

DRIFT_REPORT = dg.AssetKey("drift_report")
MODEL_PERFORMANCE = dg.AssetKey("model_performance")
CHAMPION = dg.AssetKey("champion_model")
EVALUATION = dg.AssetKey("evaluation_scores")
HISTORY = 60  # partitions of evidence the policy looks back over


def retrain_run_key(partition: str) -> str:
    return f"drift-retrain-{partition}"


def _latest_by_partition(instance, key: dg.AssetKey) -> dict[str, dict]:
    records = instance.fetch_materializations(key, limit=HISTORY * 3, ascending=False).records
    latest: dict[str, dict] = {}
    for record in records:
        materialization = record.asset_materialization
        latest.setdefault(
            materialization.partition, {k: v.value for k, v in materialization.metadata.items()}
        )
    return latest


def policy_observations(instance) -> list[PartitionObservation]:
    """What monitoring recorded per partition, oldest first, from Dagster's event log alone."""
    drift = _latest_by_partition(instance, DRIFT_REPORT)
    performance = _latest_by_partition(instance, MODEL_PERFORMANCE)
    return [
        PartitionObservation(
            partition=p,
            drift_share=float(drift[p]["drift_share"]),
            realized_accuracy=performance.get(p, {}).get("realized_accuracy"),
            estimated_accuracy=performance.get(p, {}).get("estimated_accuracy"),
            validation_passed=performance.get(p, {}).get("validation_passed", True),
            champion_version=_version(performance.get(p, {}).get("champion_version")),
        )
        for p in sorted(drift)
        if "drift_share" in drift[p]  # a day with no observations in a run over several
    ]


def _version(value) -> int | None:
    # metadata stores numbers as floats, and "none" before the first champion
    return int(value) if isinstance(value, int | float) else None


# `champion_model` decisions that put a model in charge; "pending_approval" does not
IN_CHARGE = {"promoted", "approved", "rolled_back"}


def in_charge_event(instance) -> dict | None:
    """The metadata of the newest `champion_model` event that put a model in charge, if any."""
    for record in instance.fetch_materializations(CHAMPION, limit=50, ascending=False).records:
        metadata = record.asset_materialization.metadata
        decision = metadata.get("decision")
        if decision is not None and decision.value in IN_CHARGE:
            return metadata
    return None


def promoted_score(instance) -> float | None:
    """The promoted accuracy of the model in charge, from the newest event that put it there."""
    metadata = in_charge_event(instance)
    score = metadata.get("promoted_accuracy") if metadata is not None else None
    return float(score.value) if score is not None else None


def data_time(partition: str) -> datetime:
    """When a partition's day ends: the time the policy counts its cooldown and cap in.

    Data time, not the wall clock, so a backfill or a replay of old files is paced like the
    days it replays rather than by how fast they are processed.
    """
    return datetime.combine(date.fromisoformat(partition), time(), UTC) + timedelta(days=1)


def recent_retrains(instance) -> list[datetime]:
    """The data time of each of the policy's recent retrains (the end of its partition)."""
    runs = instance.get_run_records(
        dg.RunsFilter(job_name=retrain_job.name, tags={"continual_ml/trigger": "policy"}),
        limit=50,
    )
    tags = [r.dagster_run.tags.get("dagster/partition") for r in runs]
    return [data_time(partition) for partition in tags if partition]


def retrain_policy(policy) -> RetrainPolicy:
    return RetrainPolicy(
        drift_share_threshold=policy.drift_share_threshold,
        consecutive_partitions=policy.consecutive_partitions,
        max_performance_drop=policy.max_performance_drop,
        cooldown=timedelta(hours=policy.cooldown_hours),
        max_retrains_per_day=policy.max_retrains_per_day,
        follow_up_refusals=policy.follow_up_refusals,
        decay_partitions=policy.decay_partitions,
        max_decay=policy.max_decay,
    )


def policy_retrains(instance) -> list[tuple[str, bool]]:
    """The policy's retrains that reached the gate, oldest first, as (partition, promoted).

    A run that failed before its candidate was evaluated (a crash, a lost connection) trained
    nothing the gate judged: it is neither a refusal nor a new start for the decay rule.
    """
    runs = instance.get_run_records(
        dg.RunsFilter(
            job_name=retrain_job.name,
            tags={"continual_ml/trigger": "policy"},
            statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
        ),
        limit=20,
    )
    promoted = {
        record.run_id
        for record in instance.fetch_materializations(CHAMPION, limit=50).records
        if (decision := record.asset_materialization.metadata.get("decision")) is not None
        and decision.value == "promoted"
    }
    evaluated = {
        record.run_id for record in instance.fetch_materializations(EVALUATION, limit=50).records
    }
    # A refused candidate's run succeeds with decision `rejected`; only an evaluated one counts.
    return [
        (r.dagster_run.tags.get("dagster/partition", ""), r.dagster_run.run_id in promoted)
        for r in sorted(runs, key=lambda r: r.create_timestamp)
        if r.dagster_run.run_id in evaluated
    ]


class NewestDayOfRun:
    """Whether a partition is the newest day of the run that measured it.

    A run over a range (a backfill of history, or several landed days at once) records every
    day, but the policy decides on its newest only: the older ones are the history it reads, and
    retraining for each day of last year would be pointless.
    """

    def __init__(self, instance):
        self.instance, self._ends = instance, {}

    def is_newest(self, run_id: str, partition: str) -> bool:
        if run_id not in self._ends:
            run = self.instance.get_run_by_id(run_id)
            tags = run.tags if run is not None else {}
            self._ends[run_id] = tags.get("dagster/asset_partition_range_end")
        end = self._ends[run_id]
        return end is None or partition == end


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def drift_retrain_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource
) -> dg.SensorResult:
    """Apply the retraining policy to each partition monitoring finished since the last tick."""
    policy = retrain_policy(dataset.config.policy)
    # Reads only Dagster's event log and run list: never the DuckDB file a run may be writing.
    records = context.instance.fetch_materializations(
        MODEL_PERFORMANCE, limit=200, cursor=context.cursor, ascending=True
    )
    champion_score = promoted_score(context.instance)
    requests, skipped = [], []
    # Read once per tick: the event log and the run list do not change while it runs.
    observations = policy_observations(context.instance)
    retrains = recent_retrains(context.instance)
    retrain_log = policy_retrains(context.instance)
    follow_up = follow_up_partition(retrain_log, policy.follow_up_refusals)
    last_retrain = retrain_log[-1][0] if retrain_log else None
    newest = NewestDayOfRun(context.instance)
    for record in records.records:
        partition = record.asset_materialization.partition
        if not newest.is_newest(record.run_id, partition):
            continue  # history a run over several days measured: evidence, not a new day
        history = [o for o in observations if o.partition <= partition][-HISTORY:]
        now = data_time(partition)
        before = [t for t in retrains if t <= now]  # a replayed day knows nothing of later ones
        decision = decide_retrain(
            policy, history, champion_score, before, now, follow_up, last_retrain
        )
        if not decision.retrain:
            skipped.append(decision.reason)
            continue
        run_key = retrain_run_key(partition)
        earlier = context.instance.get_run_ids(
            dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1
        )
        if earlier or any(r.run_key == run_key for r in requests):
            skipped.append(f"{partition}: retrain already requested (run key {run_key})")
            continue
        follow_up = None  # one follow-up at a time, even when a tick sees several days
        retrains.append(now)  # the cooldown and the daily cap count this request too
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                partition_key=partition,
                tags={
                    **priority_tag("retrain"),
                    "continual_ml/trigger": "policy",
                    "continual_ml/causes": ",".join(decision.causes),
                    **request_tags(run_key),
                },
            )
        )
    # A retrain the policy asked for happens: one whose run failed for an infrastructure reason
    # (and whose Dagster run retries are spent) is asked for again, a bounded number of times.
    for request_key, step, last in requests_to_ask_again(
        context.instance, retrain_job.name, {"continual_ml/trigger": "policy"}
    ):
        requests.append(
            dg.RunRequest(
                run_key=attempt_run_key(request_key, step.attempt),
                partition_key=last.tags.get("dagster/partition"),
                tags={
                    **priority_tag("retrain"),
                    "continual_ml/trigger": "policy",
                    "continual_ml/causes": last.tags.get("continual_ml/causes", ""),
                    **request_tags(request_key),
                },
            )
        )
    if not records.records:
        skipped.append("no partitions monitored since the last tick")
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else "; ".join(skipped),
        cursor=records.cursor or context.cursor,
    )


BASE_PRIORITY_TAG = "continual_ml/base_priority"


def age_queued_runs(instance: dg.DagsterInstance, now: datetime) -> int:
    """Give each queued run the priority its wait has earned; how many were raised."""
    raised = 0
    for record in instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]), limit=500
    ):
        tags = record.dagster_run.tags
        current = int(tags.get("dagster/priority", "0"))
        base = int(tags.get(BASE_PRIORITY_TAG, current))
        waited = (now - record.create_timestamp).total_seconds()
        earned = aged_priority(base, waited, AGING_STEP_SECONDS, AGING_CAP)
        if earned > current:
            instance.add_run_tags(
                record.dagster_run.run_id,
                {"dagster/priority": str(earned), BASE_PRIORITY_TAG: str(base)},
            )
            raised += 1
    return raised


@dg.sensor(minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def queue_aging_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Raise the priority of runs that have waited in the queue, so no kind of work starves."""
    raised = age_queued_runs(context.instance, datetime.now(UTC))
    queued = context.instance.get_runs_count(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]))
    return dg.SkipReason(f"{queued} runs queued, {raised} raised in priority")


# Every job of the code location: each one's failures are alerted on.
JOBS = [
    monitoring_job,
    performance_job,
    retrain_job,
    drift_explanation_job,
    rollback_job,
    approval_job,
    ingest_file_job,
]


def _error_line(error) -> str:
    # Dagster's message usually starts with the class name already ("ConnectionError: ...").
    message = error.message.strip()
    return message if message.startswith(error.cls_name) else f"{error.cls_name}: {message}"


def failure_cause(context: dg.RunFailureSensorContext) -> str:
    """What made the run fail, in one line: the failed step's error, or, for a run Dagster failed
    from outside (lost code server, killed worker), the error its engine events recorded."""
    steps = context.get_step_failure_events()
    errors = [
        f"{event.step_key}: {_error_line(event.step_failure_data.error)}"
        for event in steps
        if event.step_failure_data and event.step_failure_data.error
    ]
    if not errors:
        records = context.instance.all_logs(
            context.dagster_run.run_id,
            of_type={dg.DagsterEventType.ENGINE_EVENT, dg.DagsterEventType.RUN_FAILURE},
        )
        for record in reversed(records):
            error = getattr(record.dagster_event.event_specific_data, "error", None)
            if error is not None:
                errors.append(_error_line(error))
                break
    message = context.failure_event.message or "the run failed"
    cause = errors[0].splitlines()[0][:500] if errors else None
    return f"{message} Cause: {cause}" if cause else message


# No `monitored_jobs`: every run of the code location is watched, the automation condition
# sensor's own asset runs (drift explanations) included.
@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    """Alert when a run fails, with its cause; a broken candidate has had its own alert."""
    run = context.dagster_run
    failures = context.get_step_failure_events()
    if failures and all(
        "candidate_beats_champion" in (f.step_failure_data.error.message or "")
        for f in failures
        if f.step_failure_data and f.step_failure_data.error
    ):
        context.log.info(f"run {run.run_id}: the gate refused a broken candidate; already alerted")
        return
    # Read again: Dagster tags whether it will retry the run as the failure is stored.
    will_retry = context.instance.get_run_by_id(run.run_id).tags.get("dagster/will_retry")
    alerts.send(
        Alert(
            "run_failed",
            f"Run of {run.job_name} failed",
            failure_cause(context),
            {"run id": run.run_id, "partition": run.tags.get("dagster/partition", "-")},
            links={"Dagster run": run_url(run.run_id)},
            action="retried automatically" if will_retry == "true" else None,
        ),
        context.log,
    )
