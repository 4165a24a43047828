"""The Dagster instance `prepare` writes for the local home: no work dropped when the code server
is down or a run crashes, and homes from earlier versions are brought up to date."""

import hashlib
from pathlib import Path

import dagster as dg

from continual_ml.app.local_home import (
    EARLIER_LOCAL_DAGSTER_YAML_SHA256,
    LOCAL_DAGSTER_YAML,
    prepare,
)
from continual_ml.config import Paths
from continual_ml_tests.conftest import HOME_ENV

# What continual-ml wrote before the file had a header, byte for byte.
EARLIER_LOCAL_DAGSTER_YAML = (
    Path(__file__).parent / "data" / "earlier_local_dagster.yaml"
).read_text()


def test_the_local_instance_requeues_and_retries_crashed_runs_only(home):
    with dg.DagsterInstance.get() as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert instance.run_monitoring_enabled
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_user_code_failure_retries * queue.user_code_failure_retry_delay >= 300


def test_a_landed_day_finds_a_run_slot_and_the_next_run_starts_while_one_holds_the_warehouse(home):
    from continual_ml.decisions.queue_aging import (
        BACKGROUND,
        LANE_TAG,
        LOGS,
        MONITORING,
        REPORTS,
        SHARE_TAG,
    )
    from continual_ml.defs.jobs import queue_tags

    with dg.DagsterInstance.get() as instance:
        config = instance.get_concurrency_config()
        queue = config.run_queue_config
        assert queue.max_concurrent_runs == 4
        # one run per lane of four slots: one is always there for a landed day's run, one for
        # logs, one for retrains and late labels, one for renders
        for name in (BACKGROUND, LOGS, MONITORING, REPORTS):
            assert {"key": LANE_TAG, "value": name, "limit": 1} in queue.tag_concurrency_limits
        assert queue_tags("monitoring")[LANE_TAG] == MONITORING
        assert queue_tags("prediction_log")[LANE_TAG] == LOGS
        assert all(queue_tags(kind)[LANE_TAG] == BACKGROUND for kind in ("retrain", "late_labels"))
        assert queue_tags("explanation")[LANE_TAG] == REPORTS
        # the share tag is for smaller instances (the workers'): not limited here
        assert queue_tags("monitoring")[SHARE_TAG] != queue_tags("explanation")[SHARE_TAG]
        assert all(limit["key"] != SHARE_TAG for limit in queue.tag_concurrency_limits)
        # one warehouse writer, but a queued run may start while another holds it
        assert config.pool_config.default_pool_limit == 1
        # each of the three lanes that open the warehouse may launch while another holds it
        assert queue.op_concurrency_slot_buffer == 2
        assert instance.get_settings("sensors")["use_threads"]
        # the slot of a step whose process died does not block the warehouse for good
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0


def test_an_earlier_file_is_replaced_and_an_edited_one_kept(tmp_path, monkeypatch):
    for name in HOME_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONTINUAL_ML_HOME", str(tmp_path / "a"))
    paths = Paths.from_env()
    paths.dagster_home.mkdir(parents=True)
    (paths.dagster_home / "dagster.yaml").write_text(EARLIER_LOCAL_DAGSTER_YAML)
    prepare(paths)
    assert (paths.dagster_home / "dagster.yaml").read_text() == LOCAL_DAGSTER_YAML
    # the earlier file with one character changed is somebody's edit
    edited = EARLIER_LOCAL_DAGSTER_YAML.replace("seconds: 1", "seconds: 2")
    assert hashlib.sha256(EARLIER_LOCAL_DAGSTER_YAML.encode()).hexdigest() == (
        EARLIER_LOCAL_DAGSTER_YAML_SHA256
    )
    (paths.dagster_home / "dagster.yaml").write_text(edited)
    prepare(paths)
    assert (paths.dagster_home / "dagster.yaml").read_text() == edited
