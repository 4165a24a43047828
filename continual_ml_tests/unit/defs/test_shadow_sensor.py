"""The shadow sensor asks for one run at a time over the days monitored after the open
challenger, from the event log and the run list alone, and again when labels land late."""

import dagster as dg

from continual_ml.defs.training.shadow_sensor import (
    CHALLENGER_TAG,
    shadow_evidence_sensor,
    shadow_job,
)

PERFORMANCE = dg.AssetKey("model_performance")
CHAMPION = dg.AssetKey("champion_model")


def monitored(instance, *days):
    for day in days:
        instance.report_runless_asset_event(dg.AssetMaterialization(PERFORMANCE, partition=day))


def decided(instance, day, open_challenger, partition="none"):
    metadata = {"decision": "challenger", "open_challenger": open_challenger}
    metadata["open_challenger_partition"] = partition
    instance.report_runless_asset_event(
        dg.AssetMaterialization(CHAMPION, partition=day, metadata=metadata)
    )


def requests(instance):
    result = shadow_evidence_sensor(dg.build_sensor_context(instance=instance))
    return [(r.partition_key, r.run_key) for r in result.run_requests or []]


def test_no_open_challenger_no_shadow_runs(instance):
    monitored(instance, "2026-01-05", "2026-01-06")
    assert requests(instance) == []
    decided(instance, "2026-01-06", "none")
    assert requests(instance) == []


def test_one_run_covers_the_days_since_and_late_labels_ask_again(instance):
    monitored(instance, "2026-01-04", "2026-01-05")
    decided(instance, "2026-01-05", 3, "2026-01-05")
    monitored(instance, "2026-01-06", "2026-01-07")
    [(day, key)] = requests(instance)
    assert day == "2026-01-07" and key.startswith("shadow-v3-2026-01-07-")
    assert requests(instance) == [(day, key)]  # the same measurements: the same run key
    monitored(instance, "2026-01-06")  # late labels measured an earlier day again
    [(again_day, again_key)] = requests(instance)
    assert again_day == "2026-01-07" and again_key != key  # a new run, over the days since


def test_no_second_run_while_one_of_the_challenger_is_queued_or_running(instance):
    decided(instance, "2026-01-05", 3, "2026-01-05")
    monitored(instance, "2026-01-06")
    queued = queued_shadow_run(instance, version=3)
    monitored(instance, "2026-01-07")
    result = shadow_evidence_sensor(dg.build_sensor_context(instance=instance))
    assert not result.run_requests
    assert "queued or running" in result.skip_reason.skip_message
    instance.report_run_canceled(queued)  # it ended: the next tick asks for the days since
    [(day, _)] = requests(instance)
    assert day == "2026-01-07"
    other = queued_shadow_run(instance, version=4)  # another challenger's run blocks nothing
    assert other.tags[CHALLENGER_TAG] == "4" and requests(instance)


def queued_shadow_run(instance, version: int):
    from continual_ml.definitions import defs

    job = defs.resolve_job_def(shadow_job.name)
    # created, not launched: a run waiting to start, as the queue holds it
    return instance.create_run_for_job(job, tags={CHALLENGER_TAG: str(version)})


def test_a_closed_challenger_stops_the_runs(instance):
    decided(instance, "2026-01-05", 3, "2026-01-05")
    monitored(instance, "2026-01-06")
    assert requests(instance)
    decided(instance, "2026-01-06", "none")
    assert requests(instance) == []
