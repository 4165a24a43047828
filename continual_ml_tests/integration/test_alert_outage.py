"""Alerts posted to a real local HTTP server standing in for Slack and Discord."""

import dagster as dg

from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.resources import build_resources
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml_tests.support.synthetic_days import land_days, landed


def test_a_webhook_outage_never_fails_the_run_nor_leaks_the_secret(
    home, config, instance, webhook_receiver, monkeypatch
):
    webhook_receiver.status = 500
    secret_url = f"{webhook_receiver.url}/services/T000/SECRET-TOKEN"
    monkeypatch.setenv("CONTINUAL_ML_SLACK_WEBHOOK_URL", secret_url)
    resources = build_resources(home)
    assert isinstance(resources["alerts"].slack_webhook_url, dg.EnvVar)
    reference_day = partition_date(config, 0)
    land_days([reference_day], home, resources, instance)
    drifted_day = partition_date(config, config.stream.drift_day)
    result = dg.materialize(
        [observations, current_window, reference_window, drift_report],
        partition_key=str(drifted_day),
        run_config=landed(drifted_day, home.home / "batches"),
        resources=resources,
        instance=instance,
    )
    assert result.success
    # the drift alert was attempted, and retried on the 5xx
    assert [path for path, _ in webhook_receiver.requests] == ["/services/T000/SECRET-TOKEN"] * 3
    logged = [str(record) for record in instance.all_logs(result.run_id)]
    assert any("not delivered (HTTP 500 after 3 attempts)" in line for line in logged)
    assert not any("SECRET-TOKEN" in line for line in logged)
