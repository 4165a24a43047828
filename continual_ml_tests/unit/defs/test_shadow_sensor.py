"""The shadow sensor asks for one run per day monitored after the open challenger, from the
event log alone, and again for a day whose labels landed late."""

import dagster as dg

from continual_ml.defs.training.shadow_sensor import shadow_evidence_sensor

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


def test_each_day_after_the_challenger_once_and_again_after_late_labels(instance):
    monitored(instance, "2026-01-04", "2026-01-05")
    decided(instance, "2026-01-05", 3, "2026-01-05")
    monitored(instance, "2026-01-06", "2026-01-07")
    first = requests(instance)
    assert [day for day, _ in first] == ["2026-01-06", "2026-01-07"]
    assert all(key.startswith("shadow-v3-") for _, key in first)
    monitored(instance, "2026-01-06")  # late labels measured the day again
    again = dict(requests(instance))
    assert again["2026-01-07"] == dict(first)["2026-01-07"]  # the same run key: not run twice
    assert again["2026-01-06"] != dict(first)["2026-01-06"]  # a new one: scored again


def test_a_closed_challenger_stops_the_runs(instance):
    decided(instance, "2026-01-05", 3, "2026-01-05")
    monitored(instance, "2026-01-06")
    assert requests(instance)
    decided(instance, "2026-01-06", "none")
    assert requests(instance) == []
