"""The drift sensor evaluated against a real Dagster instance holding real drift reports."""

import dagster as dg
import pytest

from continual_ml.definitions import defs
from continual_ml.defs.automation import drift_retrain_sensor, retrain_run_key
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.resources import DatasetResource, build_resources
from continual_ml.synthetic_stream import partition_date

MONITORING = [observations, current_window, reference_window, drift_report]


def land(day, home, instance):
    assert dg.materialize(
        MONITORING, partition_key=str(day), resources=build_resources(home), instance=instance
    ).success


def tick(instance, cursor=None):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources={"dataset": DatasetResource()},
    )
    return drift_retrain_sensor.evaluate_tick(context)


@pytest.fixture
def calm_and_drifted_days(home, config, instance):
    calm, drifted = partition_date(config, 1), partition_date(config, config.stream.drift_day)
    land(calm, home, instance)
    land(drifted, home, instance)
    return str(calm), str(drifted)


def test_drift_requests_one_retrain_and_calm_days_are_explained(instance, calm_and_drifted_days):
    calm, drifted = calm_and_drifted_days
    result = tick(instance)
    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [
        (drifted, retrain_run_key(drifted))
    ]
    assert result.run_requests[0].tags["continual_ml/trigger"] == "drift"


def test_no_drift_is_a_skip_with_its_reason(home, config, instance):
    land(partition_date(config, 1), home, instance)
    result = tick(instance)
    assert result.run_requests == []
    assert "drift share 0.00 < threshold 0.30" in result.skip_message


def test_a_second_tick_does_not_launch_again(instance, calm_and_drifted_days):
    first = tick(instance)
    second = tick(instance, cursor=first.cursor)
    assert second.run_requests == []
    assert "no new drift reports" in second.skip_message


def test_the_same_drift_seen_again_is_skipped_once_its_run_exists(
    home, config, instance, calm_and_drifted_days
):
    _, drifted = calm_and_drifted_days
    [request] = tick(instance).run_requests
    # The daemon launches the request: a run carrying its run key now exists.
    instance.create_run_for_job(
        defs.resolve_job_def("retrain_job"), tags={"dagster/run_key": request.run_key}
    )
    # The same partition's drift report is rewritten (a reprocessing) and the sensor restarts
    # from scratch (lost cursor): still no second run.
    land(drifted, home, instance)
    again = tick(instance)
    assert again.run_requests == []
    assert f"{drifted}: retrain already requested" in again.skip_message
