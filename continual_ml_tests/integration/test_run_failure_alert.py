"""The run-failure alert, evaluated on real failed runs of the retrain job."""

import json

import dagster as dg
from mlflow.tracking import MlflowClient

from continual_ml.defs.resources import WebhookAlerts, build_resources
from continual_ml.defs.run_health import run_failure_alert
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.defs.training.checks import candidate_beats_champion
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml_tests.support.synthetic_days import land_days

RETRAIN = [candidate_model, evaluation_scores, candidate_beats_champion, champion_model]


def failure_context(instance, result, alerts):
    run = instance.get_run_by_id(result.run_id)
    [failure] = [
        r.dagster_event
        for r in instance.all_logs(result.run_id)
        if r.dagster_event and r.dagster_event.event_type_value == "PIPELINE_FAILURE"
    ]
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources={"alerts": alerts},
    ).for_run_failure()


def test_a_failed_run_is_announced(home, config, instance, webhook_receiver):
    # No observations in the window: candidate_model fails with a clear message.
    result = dg.materialize(
        RETRAIN,
        partition_key=str(partition_date(config, 2)),
        resources=build_resources(home),
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    [tracked] = MlflowClient(home.mlflow_tracking_uri).search_runs(
        [
            MlflowClient(home.mlflow_tracking_uri)
            .get_experiment_by_name("continual-ml")
            .experiment_id
        ]
    )
    assert tracked.info.status == "FAILED"  # closed, not left running for the next run
    alerts = WebhookAlerts(slack_webhook_url=f"{webhook_receiver.url}/slack")
    run_failure_alert(failure_context(instance, result, alerts))
    [(path, body)] = webhook_receiver.requests
    text = json.loads(body)["text"]
    assert text.startswith("[run_failed] Run of __ephemeral_asset_job__ failed")
    # the cause, not only "a step failed": the step and its error message
    assert "Cause: candidate_model: " in text and "no labelled observations in the" in text


def test_a_run_failed_from_outside_names_the_recorded_cause(instance, webhook_receiver):
    """A run the daemon fails (code server unreachable) carries its cause in an engine event."""
    import sys

    from dagster._core.events import EngineEventData
    from dagster._utils.error import serializable_error_info_from_exc_info

    @dg.op
    def noop():
        pass

    @dg.job
    def some_job():
        noop()

    run = instance.create_run_for_job(some_job)
    try:
        raise ConnectionError("could not reach the code server at 127.0.0.1:4000")
    except ConnectionError:
        error = serializable_error_info_from_exc_info(sys.exc_info())
    instance.report_engine_event(
        "Caught an error while launching the run", run, EngineEventData(error=error)
    )
    instance.report_run_failed(run)
    [failure] = [
        r.dagster_event
        for r in instance.all_logs(run.run_id)
        if r.dagster_event and r.dagster_event.event_type_value == "PIPELINE_FAILURE"
    ]
    alerts = WebhookAlerts(slack_webhook_url=f"{webhook_receiver.url}/slack")
    run_failure_alert(
        dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(run.run_id),
            resources={"alerts": alerts},
        ).for_run_failure()
    )
    [(_, body)] = webhook_receiver.requests
    text = json.loads(body)["text"]
    assert "Cause: ConnectionError: could not reach the code server at 127.0.0.1:4000" in text


def alert_kinds(webhook_receiver) -> list[str]:
    return [json.loads(body)["text"].split("]")[0][1:] for _, body in webhook_receiver.requests]


def champion_on_day_three(home, config, instance) -> tuple[dict, str]:
    """Three days landed and a first champion trained on them; the resources and that day."""
    resources = build_resources(home)
    land_days([partition_date(config, i) for i in range(3)], home, resources, instance)
    day = str(partition_date(config, 2))
    assert dg.materialize(
        RETRAIN, partition_key=day, resources=resources, instance=instance
    ).success
    return resources, day


def test_a_refused_candidate_is_a_decision_not_a_failure(home, config, instance, webhook_receiver):
    resources, day = champion_on_day_three(home, config, instance)
    webhook_receiver.requests.clear()
    resources["alerts"] = WebhookAlerts(slack_webhook_url=f"{webhook_receiver.url}/slack")
    # an identical challenger: the gate refuses it, and the run still succeeds
    refused = dg.materialize(RETRAIN, partition_key=day, resources=resources, instance=instance)
    assert refused.success
    assert alert_kinds(webhook_receiver) == ["retrain_finished", "model_rejected"]
    assert instance.get_run_by_id(refused.run_id).status == dg.DagsterRunStatus.SUCCESS


def test_a_broken_candidate_fails_its_run_and_is_announced_once(
    home, config, instance, webhook_receiver
):
    resources, day = champion_on_day_three(home, config, instance)
    trained = dg.materialize(
        RETRAIN,
        selection=dg.AssetSelection.assets(candidate_model, evaluation_scores).without_checks(),
        partition_key=day,
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    # The bytes no longer match what was registered: the gate must stop it, in red.
    import duckdb

    with duckdb.connect(str(home.warehouse)) as conn:
        conn.execute("UPDATE model_registry SET sha256 = repeat('0', 64) WHERE version = 2")
    webhook_receiver.requests.clear()
    resources["alerts"] = WebhookAlerts(slack_webhook_url=f"{webhook_receiver.url}/slack")
    broken = dg.materialize(
        RETRAIN,
        selection=dg.AssetSelection.checks(candidate_beats_champion)
        | dg.AssetSelection.assets(champion_model),
        partition_key=day,
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    assert trained.success and not broken.success
    assert not broken.asset_materializations_for_node("champion_model")
    assert alert_kinds(webhook_receiver) == ["candidate_broken"]
    run_failure_alert(failure_context(instance, broken, resources["alerts"]))
    assert alert_kinds(webhook_receiver) == ["candidate_broken"]  # not announced twice
