"""The drift sensor evaluated against a real Dagster instance holding real drift reports."""

import dagster as dg
import pytest
import yaml

from continual_ml.config import DEFAULT_CONFIG
from continual_ml.definitions import defs
from continual_ml.defs.automation import retrain_run_key
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.jobs import PRIORITY
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.monitoring.explanations import days_to_explain, drift_explanation_sensor
from continual_ml.defs.monitoring.performance import model_performance
from continual_ml.defs.resources import build_resources
from continual_ml.defs.training.assets import champion_model, evaluation_scores
from continual_ml.defs.training.checks import candidate_beats_champion
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml_tests.support.landing import retrain_tick
from continual_ml_tests.support.synthetic_days import land_days, landed, materialize_day

MONITORING = [observations, current_window, reference_window, drift_report, model_performance]
SHADOW = [evaluation_scores, candidate_beats_champion, champion_model]  # a day with no candidate


def land(day, home, instance):
    assert dg.materialize(
        MONITORING,
        partition_key=str(day),
        run_config=landed(day, home.home / "batches"),
        resources=build_resources(home),
        instance=instance,
    ).success


@pytest.fixture
def calm_and_drifted_days(home, config, instance):
    calm, drifted = partition_date(config, 1), partition_date(config, config.stream.drift_day)
    land(calm, home, instance)
    land(drifted, home, instance)
    return str(calm), str(drifted)


def test_drift_requests_one_retrain_and_calm_days_are_explained(instance, calm_and_drifted_days):
    calm, drifted = calm_and_drifted_days
    result = retrain_tick(instance)
    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [
        (drifted, retrain_run_key(drifted))
    ]
    assert result.run_requests[0].tags["continual_ml/trigger"] == "policy"
    assert result.run_requests[0].tags["continual_ml/causes"] == "drift"


def test_no_drift_is_a_skip_with_its_reason(home, config, instance):
    land(partition_date(config, 1), home, instance)
    result = retrain_tick(instance)
    assert result.run_requests == []
    assert "drift share 0.00" in result.skip_message and "0.30" in result.skip_message


def test_a_second_tick_does_not_launch_again(instance, calm_and_drifted_days):
    first = retrain_tick(instance)
    second = retrain_tick(instance, cursor=first.cursor)
    assert second.run_requests == []
    assert "no partitions monitored since the last tick" in second.skip_message


def test_the_same_drift_seen_again_is_skipped_once_its_run_exists(
    home, config, instance, calm_and_drifted_days
):
    _, drifted = calm_and_drifted_days
    [request] = retrain_tick(instance).run_requests
    # The daemon launches the request: a run carrying its run key now exists.
    instance.create_run_for_job(
        defs.resolve_job_def("retrain_job"), tags={"dagster/run_key": request.run_key}
    )
    # The same partition's drift report is rewritten (a reprocessing) and the sensor restarts
    # from scratch (lost cursor): still no second run.
    land(drifted, home, instance)
    again = retrain_tick(instance)
    assert again.run_requests == []
    assert f"{drifted}: retrain already requested" in again.skip_message


def policy_file(tmp_path, **policy):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["policy"].update(policy)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_hysteresis_waits_for_consecutive_drifted_partitions(home, config, instance, tmp_path):
    path = policy_file(tmp_path, consecutive_partitions=2)
    first, second = (partition_date(config, config.stream.drift_day + i) for i in (0, 1))
    land(partition_date(config, 1), home, instance)  # a calm day inside the reference window
    land(first, home, instance)
    waiting = retrain_tick(instance, config_path=path)
    assert waiting.run_requests == [] and "only 1 of the 2 partitions" in waiting.skip_message
    land(second, home, instance)
    ready = retrain_tick(instance, cursor=waiting.cursor, config_path=path)
    assert [r.partition_key for r in ready.run_requests] == [str(second)], ready.skip_message


def policy_retrain_on(instance, day):
    instance.create_run_for_job(
        defs.resolve_job_def("retrain_job"),
        tags={"continual_ml/trigger": "policy", "dagster/partition": str(day)},
    )


def test_the_daily_cap_holds_back_a_retrain_and_says_so(home, config, instance, tmp_path):
    path = policy_file(tmp_path, max_retrains_per_day=1)
    drifted = partition_date(config, config.stream.drift_day)
    policy_retrain_on(instance, drifted)  # e.g. requested for this day by an earlier cursor
    land(partition_date(config, 1), home, instance)
    land(drifted, home, instance)
    capped = retrain_tick(instance, config_path=path)
    assert capped.run_requests == []
    assert "cap reached: 1 retrains in the last 24 h" in capped.skip_message


def test_cooldown_and_cap_count_the_days_of_data_not_the_clock(home, config, instance, tmp_path):
    """A replay of old days: retrains made seconds ago on earlier days block only as long as
    those days are recent in the data."""
    drift_day = config.stream.drift_day
    policy_retrain_on(instance, partition_date(config, 2))  # just now, on an old day
    land(partition_date(config, 1), home, instance)
    land(partition_date(config, drift_day), home, instance)
    capped_by_the_clock = policy_file(tmp_path, max_retrains_per_day=1, cooldown_hours=24)
    # 6 days later in data
    assert retrain_tick(instance, config_path=capped_by_the_clock).run_requests

    policy_retrain_on(instance, partition_date(config, drift_day - 1))
    cooling = retrain_tick(instance, config_path=policy_file(tmp_path, cooldown_hours=48))
    assert cooling.run_requests == []
    assert "cooldown until 2026-01-11 00:00 (48 h after 2026-01-09 00:00)" in cooling.skip_message


def explain_tick(instance):
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    return drift_explanation_sensor.evaluate_tick(context)


def report(instance, asset, *days):
    for day in days:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=day))


def test_new_drift_reports_are_explained_together_in_one_run(instance):
    assert explain_tick(instance).run_requests == []  # nothing reported yet
    report(instance, "drift_report", "2026-01-05", "2026-01-08", "2026-01-09")
    [request] = explain_tick(instance).run_requests
    # The newest consecutive days in one run over their range, behind the loop's own runs.
    assert request.partition_key is None
    assert request.tags["dagster/asset_partition_range_start"] == "2026-01-08"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-01-09"
    assert request.tags["dagster/priority"] == str(PRIORITY["explanation"])
    report(instance, "drift_explanation", "2026-01-08", "2026-01-09")
    [older] = explain_tick(instance).run_requests  # then the older day, which waited
    assert older.partition_key == "2026-01-05"
    report(instance, "drift_explanation", "2026-01-05")
    assert explain_tick(instance).run_requests == []  # handled: not asked for again
    report(instance, "drift_report", "2026-01-08")  # measured again: explained again
    [again] = explain_tick(instance).run_requests
    assert again.partition_key == "2026-01-08"


def test_only_the_newest_days_kept_on_disk_are_explained(instance):
    days = [f"2026-01-{d:02d}" for d in range(1, 31)]
    report(instance, "drift_report", *days)
    assert list(days_to_explain(instance, keep=7)) == days[-7:]


def test_a_slow_decay_of_the_champion_is_retrained_on_from_the_event_log(instance):
    # what monitoring records, reported to the instance: no drift, never a 5-point drop at once;
    # v1's better first days are not v2's baseline
    served = [(1, 0.95)] * 3 + [(2, a) for a in (0.90, 0.91, 0.89, 0.88, 0.87, 0.86)]
    for i, (version, accuracy) in enumerate(served):
        day = f"2026-01-{i + 2:02d}"
        for key, metadata in (
            ("drift_report", {"drift_share": 0.0}),
            ("model_performance", {"realized_accuracy": accuracy, "champion_version": version}),
        ):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(key, partition=day, metadata=metadata)
            )
    result = retrain_tick(instance)
    assert [r.partition_key for r in result.run_requests] == ["2026-01-10"]
    assert result.run_requests[0].tags["continual_ml/causes"] == "decay"


def in_process_retrain_job(resources):
    """`retrain_job` bound to `resources`, executed in the test's process."""
    from continual_ml.defs.jobs import retrain_job

    local = dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=[retrain_job],
        resources=resources,
        executor=dg.in_process_executor,
    )
    return local.resolve_job_def(retrain_job.name)


def test_only_retrains_that_reached_the_gate_are_the_policys_retrains(home, config, instance):
    from continual_ml.defs.retrain_history import policy_retrains

    resources = build_resources(home)
    days = [str(partition_date(config, index)) for index in range(3)]
    land_days(days, home, resources, instance)
    job, policy = in_process_retrain_job(resources), {"continual_ml/trigger": "policy"}
    assert job.execute_in_process(partition_key=days[2], instance=instance, tags=policy).success
    # a day with no rows: the run fails while training, before the gate saw any candidate
    crashed = job.execute_in_process(
        partition_key=str(partition_date(config, 20)),
        instance=instance,
        tags=policy,
        raise_on_error=False,
    )
    assert not crashed.success
    assert policy_retrains(instance) == [(days[2], True)]


def test_growth_retrains_a_champion_trained_on_all_history_from_its_event(
    home, config, instance, tmp_path, monkeypatch
):
    """The champion's event records what it trained on; once the labelled rows since reach
    half of those, the sensor asks for a `growth` retrain, which never starts follow-ups."""
    from continual_ml.defs.retrain_history import policy_retrains

    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["policy"]["data_growth"] = 0.5
    raw["model"].pop("training_window_days", None)
    raw["model"]["training_window"] = {"candidates_days": [3, "all"]}
    path = str(tmp_path / "growth.yaml")  # its own file: `policy_file` writes another
    with open(path, "w") as file:
        yaml.safe_dump(raw, file)
    monkeypatch.setenv("CONTINUAL_ML_CONFIG", path)
    resources = build_resources(home)
    days = [str(partition_date(config, index)) for index in range(2)]
    land_days(days, home, resources, instance)
    job = in_process_retrain_job(resources)
    growth = {"continual_ml/trigger": "policy", "continual_ml/causes": "growth"}
    assert job.execute_in_process(partition_key=days[1], instance=instance, tags=growth).success
    [event] = instance.fetch_materializations(dg.AssetKey("champion_model"), limit=1).records
    decided = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    [trained] = instance.fetch_materializations(dg.AssetKey("candidate_model"), limit=1).records
    n_train = trained.asset_materialization.metadata["n_train"].value
    assert decided["decision"] == "promoted"
    assert decided["champion_n_train"] == n_train > 0
    assert decided["champion_training_end"] == days[1]
    assert "all" in decided["champion_training_window"].split("=")
    # promoted, but asked for by growth alone: no follow-up is due after it
    assert policy_retrains(instance) == [(days[1], True)]
    assert policy_retrains(instance, leaving_out="growth") == []

    # what monitoring records of the next quiet days, each with a third of its rows labelled
    per_day = -(-n_train // 6)  # half the champion's rows in three days
    newer = [str(partition_date(config, index)) for index in range(2, 5)]
    for day in newer:
        for key, metadata in (
            ("drift_report", {"drift_share": 0.0}),
            (
                "model_performance",
                {"realized_accuracy": 0.9, "champion_version": 1, "n_labelled": per_day},
            ),
        ):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(key, partition=day, metadata=metadata)
            )
    result = retrain_tick(instance, config_path=path)
    assert [r.partition_key for r in result.run_requests] == [newer[-1]], result.skip_message
    assert result.run_requests[0].tags["continual_ml/causes"] == "growth"
    # the same rule off: the same days ask for nothing
    off = retrain_tick(instance, config_path=policy_file(tmp_path, data_growth=0))
    assert off.run_requests == []

    # a growth retrain on a later real day: the gate reads its cause and, as the anytime test
    # cannot decide on one day, keeps it in shadow for `growth_evidence_days` (3) days
    later = str(partition_date(config, 2))
    land_days([later], home, resources, instance)
    grown = job.execute_in_process(partition_key=later, instance=instance, tags=growth)
    [check] = grown.get_asset_check_evaluations()
    gate = {k: v.value for k, v in check.metadata.items()}
    assert gate["candidate_version"] == 2 and gate["judged_on"] == "holdout"
    assert gate["decision"] == "keep" and "until 3 days of evidence" in gate["reason"], gate
    [trained] = grown.asset_materializations_for_node("candidate_model")
    assert "all" in trained.metadata["training_window_choice"].value.split("=")
    assert trained.metadata["n_train"].value > n_train
    # judged in shadow by runs not tagged growth: the check reads the tag of the run that
    # trained it, and decides once when the rows span three days
    for index in (3, 4):
        shadow_day = partition_date(config, index)
        land_days([str(shadow_day)], home, resources, instance)
        shadow = materialize_day(SHADOW, shadow_day, home, instance)
        [check] = shadow.get_asset_check_evaluations()
        gate = {k: v.value for k, v in check.metadata.items()}
        assert gate.get("judged_on") == "shadow" and gate["candidate_version"] == 2, gate
    # neither shown better nor worse by the anytime test (nearly the same model on this stream:
    # a strict gate would refuse it within the margin)
    assert gate["sequence_days"] == 3, gate
    assert gate["sequence_lower"] <= 0 <= gate["sequence_upper"], gate
    # the one look: promoted on a mean gain of at least 0, refused otherwise
    if gate["sequence_mean"] >= 0:
        assert gate["decision"] == "promote" and "with no sign of a change" in gate["reason"]
    else:
        assert gate["decision"] == "reject" and "decided once" in gate["reason"]
