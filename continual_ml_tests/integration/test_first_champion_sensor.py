"""A new deployment trains its first champion without anyone launching a run."""

import dagster as dg

from continual_ml.definitions import defs
from continual_ml.defs.resources import build_resources
from continual_ml.defs.training.first_champion import first_champion_sensor
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml_tests.support.synthetic_days import land_days


def tick(instance):
    context = dg.build_sensor_context(
        instance=instance, definitions=defs, resources={"dataset": defs.resources["dataset"]}
    )
    return first_champion_sensor.evaluate_tick(context)


def test_the_first_champion_is_requested_once_a_window_has_landed(home, config, instance):
    resources = build_resources(home)
    window = config.model.training_window_days
    for index in range(window - 1):
        land_days([partition_date(config, index)], home, resources, instance)
    assert not tick(instance).run_requests
    assert f"{window - 1} day(s) landed" in tick(instance).skip_message

    newest = str(partition_date(config, window - 1))
    land_days([newest], home, resources, instance)
    [request] = tick(instance).run_requests
    assert request.partition_key == newest
    assert request.tags["continual_ml/trigger"] == "first_champion"

    run = defs.resolve_job_def("retrain_job").execute_in_process(
        partition_key=newest,
        instance=instance,
        resources=resources,
        tags={**request.tags, "dagster/run_key": request.run_key},
    )
    assert run.success
    [decision] = run.asset_materializations_for_node("champion_model")
    assert decision.metadata["decision"].value == "promoted"
    # with a champion in charge, the sensor has nothing more to do, ever
    again = tick(instance)
    assert not again.run_requests and again.skip_message == "a champion is in charge"


def test_a_failed_first_attempt_waits_for_the_next_day(home, config, instance):
    resources = build_resources(home)
    window = config.model.training_window_days
    days = [str(partition_date(config, index)) for index in range(window)]
    land_days(days, home, resources, instance)
    [request] = tick(instance).run_requests
    # the attempt fails (here: its run is reported failed), so its run key is spent
    failed = instance.create_run_for_job(
        defs.resolve_job_def("retrain_job"),
        tags={**request.tags, "dagster/run_key": request.run_key},
    )
    instance.report_run_failed(failed)
    assert "was tried; waiting for a new day" in tick(instance).skip_message
    following = str(partition_date(config, window))
    land_days([following], home, resources, instance)
    [retry] = tick(instance).run_requests
    assert retry.partition_key == following
