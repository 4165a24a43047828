"""The sensors that ask for work: retrains the policy wants, drift explanations to render."""

import dagster as dg

from continual_ml.decisions.data_growth import GROWTH, ModelTraining
from continual_ml.decisions.retrain_pacing import data_time
from continual_ml.decisions.retrain_policy import (
    CAUSES_TAG,
    PartitionObservation,
    RetrainPolicy,
    decide_retrain,
    follow_up_partition,
)
from continual_ml.decisions.shift_episode import ONSET_TAG as SHIFT_ONSET
from continual_ml.defs.jobs import queue_tags, retrain_job, retrain_sensor
from continual_ml.defs.rerequest import attempt_run_key, request_tags, requests_to_ask_again
from continual_ml.defs.resources import DatasetResource
from continual_ml.defs.retrain_history import (
    known_onset,
    policy_retrain_in_flight,
    policy_retrain_runs,
    policy_retrains_with_causes,
    recent_retrains,
)

DRIFT_REPORT = dg.AssetKey("drift_report")
MODEL_PERFORMANCE = dg.AssetKey("model_performance")
CHAMPION = dg.AssetKey("champion_model")
HISTORY = 60  # partitions of evidence the policy looks back over
GROWTH_HISTORY = 400  # partitions the growth rule counts labelled rows over


def retrain_run_key(partition: str, shift_onset: str | None = None) -> str:
    """One retrain per partition; a shift episode whose first retrain falls on a day already
    retrained for an earlier one names its onset too."""
    return f"drift-retrain-{partition}" + (f"-shift-{shift_onset}" if shift_onset else "")


def _latest_by_partition(instance, key: dg.AssetKey, partitions: int) -> dict[str, dict]:
    # a day is measured more than once (on landing, again as its labels land)
    records = instance.fetch_materializations(key, limit=partitions * 3, ascending=False).records
    latest: dict[str, dict] = {}
    for record in records:
        materialization = record.asset_materialization
        latest.setdefault(
            materialization.partition, {k: v.value for k, v in materialization.metadata.items()}
        )
    return latest


def policy_observations(instance, partitions: int = HISTORY) -> list[PartitionObservation]:
    """What monitoring recorded per partition, oldest first, from Dagster's event log alone
    (about the newest `partitions`)."""
    drift = _latest_by_partition(instance, DRIFT_REPORT, partitions)
    performance = _latest_by_partition(instance, MODEL_PERFORMANCE, partitions)
    return [
        PartitionObservation(
            partition=p,
            drift_share=_drift_share(drift[p]),
            realized_accuracy=performance.get(p, {}).get("realized_accuracy"),
            estimated_accuracy=performance.get(p, {}).get("estimated_accuracy"),
            validation_passed=performance.get(p, {}).get("validation_passed", True),
            champion_version=_version(performance.get(p, {}).get("champion_version")),
            n_labelled=_count(performance.get(p, {}).get("n_labelled")),
            realized_error=performance.get(p, {}).get("realized_error"),
            estimated_error=performance.get(p, {}).get("estimated_error"),
            error_sd=performance.get(p, {}).get("realized_error_sd"),
        )
        for p in sorted(drift)
        if "drift_share" in drift[p]  # a day with no observations in a run over several
    ]


def _drift_share(metadata: dict) -> float | None:
    """The day's drift share, or None when no feature had enough values to test."""
    if metadata.get("n_tested_features", 1) == 0:  # older events did not record it
        return None
    return float(metadata["drift_share"])


def _count(value) -> int | None:
    return int(value) if isinstance(value, int | float) else None


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


def promoted_evidence(
    in_charge: dict, error_metric: str | None = None
) -> tuple[float | None, int | None]:
    """The promoted accuracy of the model in charge (for a number, its promoted `error_metric`)
    and the rows it was measured on (None when not recorded), from `in_charge`, the metadata of
    the newest event that put it there (`in_charge_event`)."""
    metadata = in_charge
    score = metadata.get(f"promoted_{error_metric}" if error_metric else "promoted_accuracy")
    rows = metadata.get("promoted_rows")
    return (
        float(score.value) if score is not None else None,
        int(rows.value) if rows is not None else None,
    )


def champion_training(in_charge: dict) -> ModelTraining | None:
    """What the model in charge was trained on, from `in_charge` (as `promoted_evidence`; None
    for an event recorded before it was)."""
    metadata = in_charge
    if "champion_n_train" not in metadata or "champion_training_end" not in metadata:
        return None
    if metadata["decision"].value == "rolled_back":  # a person chose it: growth does not undo
        return None
    window = metadata.get("champion_training_window")
    return ModelTraining(
        end=str(metadata["champion_training_end"].value),
        rows=int(metadata["champion_n_train"].value),
        window=str(window.value) if window is not None else "",
        start=str(metadata["champion_training_start"].value),
    )


def promoted_score(instance) -> float | None:
    """The promoted accuracy of the model in charge, from the newest event that put it there."""
    return promoted_evidence(in_charge_event(instance) or {})[0]


def _retrained_for_another_shift(instance, run_key: str, onset: str) -> bool:
    """Whether `run_key`'s retrain ran for an earlier episode (or none): a new episode's first
    retrain on the same partition then gets a key of its own."""
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1)
    return bool(runs) and runs[0].tags.get(SHIFT_ONSET) != onset


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


@retrain_sensor
def drift_retrain_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource
) -> dg.SensorResult:
    """Apply the retraining policy to each partition monitoring finished since the last tick."""
    policy = RetrainPolicy.from_settings(dataset.config.policy)
    # Reads only Dagster's event log and run list: never the DuckDB file a run may be writing.
    records = context.instance.fetch_materializations(
        MODEL_PERFORMANCE, limit=200, cursor=context.cursor, ascending=True
    )
    in_charge = in_charge_event(context.instance) or {}  # one read serves both below
    champion_score, scored_on = promoted_evidence(in_charge, policy.error_metric)
    requests, skipped = [], []
    # Read once per tick: the event log and the run list do not change while it runs.
    observations = policy_observations(context.instance, GROWTH_HISTORY)
    runs = policy_retrain_runs(context.instance)
    retrains, remembered = recent_retrains(runs), known_onset(runs)
    retrain_causes = policy_retrains_with_causes(context.instance)
    # a retrain for more rows of the same data promoted says nothing of a concept still moving
    follow_ups = [(p, promoted) for p, promoted, causes in retrain_causes if causes != GROWTH]
    follow_up = follow_up_partition(follow_ups, policy.follow_up_refusals)
    trained = champion_training(in_charge)
    in_flight = policy_retrain_in_flight(context.instance)
    # a growth retrain learnt days with no sign of a change: not a shift's retrain
    last_retrain = follow_ups[-1][0] if follow_ups else None
    growth_retrains = [p for p, _, causes in retrain_causes if causes == GROWTH]
    last_growth_retrain = growth_retrains[-1] if growth_retrains else None
    newest = NewestDayOfRun(context.instance)
    for record in records.records:
        partition = record.asset_materialization.partition
        if not newest.is_newest(record.run_id, partition):
            continue  # history a run over several days measured: evidence, not a new day
        counted = [o for o in observations if o.partition <= partition]
        history = counted[-HISTORY:]
        now = data_time(partition)
        before = [t for t in retrains if t <= now]  # a replayed day knows nothing of later ones
        decision = decide_retrain(
            policy,
            history,
            champion_score,
            before,
            now,
            follow_up,
            last_retrain,
            in_flight,
            champion_rows=scored_on,
            known_onset=remembered if remembered and remembered <= partition else None,
            champion_training=trained,
            counted=counted,
            last_growth_retrain=last_growth_retrain,
        )
        if not decision.retrain:
            skipped.append(decision.reason)
            continue
        run_key = retrain_run_key(partition)
        if decision.shift_onset and _retrained_for_another_shift(
            context.instance, run_key, decision.shift_onset
        ):
            run_key = retrain_run_key(partition, decision.shift_onset)
        earlier = context.instance.get_run_ids(
            dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1
        )
        if earlier or any(r.run_key == run_key for r in requests):
            skipped.append(f"{partition}: retrain already requested (run key {run_key})")
            continue
        follow_up = None  # one follow-up at a time, even when a tick sees several days
        in_flight = partition  # and one retrain
        retrains.append(now)  # the cooldown and the daily cap count this request too
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                partition_key=partition,
                tags={
                    **queue_tags("retrain"),
                    "continual_ml/trigger": "policy",
                    CAUSES_TAG: ",".join(decision.causes),
                    **({SHIFT_ONSET: decision.shift_onset} if decision.shift_onset else {}),
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
                    **queue_tags("retrain"),
                    "continual_ml/trigger": "policy",
                    CAUSES_TAG: last.tags.get(CAUSES_TAG, ""),
                    **({SHIFT_ONSET: last.tags[SHIFT_ONSET]} if SHIFT_ONSET in last.tags else {}),
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
