"""The policy's own retrains, as the retraining sensor reads them from Dagster's run list and
event log: when they ran, which reached the gate and were promoted, which is still in flight."""

from datetime import datetime

import dagster as dg

from continual_ml.decisions.retrain_pacing import data_time
from continual_ml.decisions.retrain_policy import CAUSES_TAG
from continual_ml.decisions.shift_episode import ONSET_TAG as SHIFT_ONSET
from continual_ml.defs.jobs import retrain_job

CHAMPION = dg.AssetKey("champion_model")
EVALUATION = dg.AssetKey("evaluation_scores")


def policy_retrain_runs(instance) -> list:
    """The run records of the policy's recent retrains, whatever their status."""
    return instance.get_run_records(
        dg.RunsFilter(job_name=retrain_job.name, tags={"continual_ml/trigger": "policy"}),
        limit=50,
    )


def recent_retrains(runs) -> list[datetime]:
    """The data time of each of the policy's retrains `runs` (the end of its partition)."""
    tags = [r.dagster_run.tags.get("dagster/partition") for r in runs]
    return [data_time(partition) for partition in tags if partition]


def known_onset(runs) -> str | None:
    """The newest shift onset one of the policy's retrain `runs` was asked for with: an episode
    outlives the evidence that opened it (a fall of accuracy is the old champion's, gone once it
    is replaced)."""
    onsets = [r.dagster_run.tags.get(SHIFT_ONSET) for r in runs]
    return max((onset for onset in onsets if onset), default=None)


def policy_retrains(instance, leaving_out: str | None = None) -> list[tuple[str, bool]]:
    """The policy's retrains that reached the gate, oldest first, as (partition, promoted);
    those asked for by the cause `leaving_out` alone are left out."""
    return [
        (partition, promoted)
        for partition, promoted, causes in policy_retrains_with_causes(instance)
        if leaving_out is None or causes != leaving_out
    ]


def policy_retrains_with_causes(instance) -> list[tuple[str, bool, str | None]]:
    """The policy's retrains that reached the gate, oldest first, as (partition, promoted,
    causes: the run's `continual_ml/causes` tag).

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
    # A challenger promoted later, by the shadow sensor's run, counts for the retrain that
    # trained it: the follow-up and decay rules start from its partition either way.
    events = [
        (record.run_id, record.asset_materialization.metadata)
        for record in instance.fetch_materializations(CHAMPION, limit=50).records
    ]
    promoted_versions = {
        metadata["candidate_version"].value
        for _, metadata in events
        if _value(metadata, "decision") == "promoted" and "candidate_version" in metadata
    }
    promoted = {
        run_id
        for run_id, metadata in events
        if _value(metadata, "candidate_version") in promoted_versions
    }
    evaluated = {
        record.run_id for record in instance.fetch_materializations(EVALUATION, limit=50).records
    }
    # A refused candidate's run succeeds with decision `rejected`; only an evaluated one counts.
    return [
        (
            r.dagster_run.tags.get("dagster/partition", ""),
            r.dagster_run.run_id in promoted,
            r.dagster_run.tags.get(CAUSES_TAG),
        )
        for r in sorted(runs, key=lambda r: r.create_timestamp)
        if r.dagster_run.run_id in evaluated
    ]


def _value(metadata, key):
    entry = metadata.get(key)
    return entry.value if entry is not None else None


IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def policy_retrain_in_flight(instance) -> str | None:
    """The partition of a retrain the policy asked for that is queued or running, if any."""
    records = instance.get_run_records(
        dg.RunsFilter(
            job_name=retrain_job.name,
            tags={"continual_ml/trigger": "policy"},
            statuses=IN_FLIGHT,
        ),
        limit=1,
    )
    return records[0].dagster_run.tags.get("dagster/partition", "?") if records else None
