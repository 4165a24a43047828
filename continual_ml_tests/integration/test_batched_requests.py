"""Fewer, larger runs: the sensors ask for one run over the consecutive days that wait."""

import dagster as dg
import duckdb

from continual_ml.app.first_champion import bound_definitions
from continual_ml.defs.data.landed_batches import LANDED_DAYS
from continual_ml.defs.jobs import monitoring_job
from continual_ml.defs.monitoring.late_labels import late_labels_sensor
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml_tests.support.landing import tick

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def drop_days(config, landing, indices):
    for index in indices:
        rows = generate_batch(config, partition_date(config, index)).head(200)
        rows.to_csv(landing / f"day-{index}.csv", index=False)


def test_days_landed_together_are_monitored_in_one_run_each_with_its_own_figures(
    home,
    config,
    instance,
    landing,
):
    drop_days(config, landing, [0, 1, 2, 5])
    together, alone = tick(instance, home).run_requests
    days = [str(partition_date(config, i)) for i in (0, 1, 2, 5)]
    assert (together.tags[RANGE_START], together.tags[RANGE_END]) == (days[0], days[2])
    assert together.run_config["ops"]["observations"]["config"]["landed_files"] == [
        str(landing / f"day-{i}.csv") for i in (0, 1, 2)
    ]
    assert alone.partition_key == days[3] and RANGE_START not in alone.tags
    # The range run, as the daemon would launch it: every day landed and measured on its own.
    job = bound_definitions(home).resolve_job_def(monitoring_job.name)
    result = job.execute_in_process(
        run_config=together.run_config, tags=together.tags, instance=instance
    )
    assert result.success
    drift = {
        e.partition: e.metadata["drift_share"].value
        for e in result.asset_materializations_for_node("drift_report")
    }
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        rows = dict(
            conn.execute(
                "SELECT strftime(partition_date, '%Y-%m-%d'), count(*) FROM observations GROUP BY 1"
            ).fetchall()
        )
    assert sorted(drift) == days[:3] and rows == {day: 200 for day in days[:3]}


def test_new_files_wait_while_a_landing_run_is_still_queued(
    home,
    config,
    instance,
    landing,
):
    drop_days(config, landing, [0])
    [first] = tick(instance, home).run_requests
    instance.create_run_for_job(
        bound_definitions(home).resolve_job_def(monitoring_job.name),
        tags={**first.tags, "dagster/run_key": first.run_key},
        status=dg.DagsterRunStatus.NOT_STARTED,  # waiting, as a queued run is
        run_config=first.run_config,
    )
    drop_days(config, landing, [1, 2])
    waiting = tick(instance, home)
    assert waiting.run_requests == [] and "2 landed day(s) wait" in waiting.skip_message
    assert first.tags["continual_ml/kind"] == LANDED_DAYS


def test_labels_on_consecutive_days_are_measured_again_in_one_run(instance):
    days = ["2026-01-03", "2026-01-04", "2026-01-05", "2026-01-09"]
    for day in days:
        instance.report_runless_asset_event(
            dg.AssetMaterialization("model_performance", partition=day)
        )
        instance.report_runless_asset_event(dg.AssetObservation("labels", partition=day))
    together, alone = late_labels_sensor(dg.build_sensor_context(instance=instance)).run_requests
    assert (together.tags[RANGE_START], together.tags[RANGE_END]) == (days[0], days[2])
    assert alone.partition_key == days[3]
