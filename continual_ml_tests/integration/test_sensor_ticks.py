"""Ticks recorded outside the daemon are the ones the real sensor daemon carries on from.

A tiny code location named as pyproject.toml names ours is loaded the way `dagster dev` loads
it (a managed gRPC server from `[tool.dagster]`), and Dagster's own sensor daemon iteration
runs against it: if Dagster changes how it keys or reads sensor state, this test fails.
"""

import logging
import time
from pathlib import Path

import dagster as dg
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import PyProjectFileTarget
from dagster._daemon.sensor import execute_sensor_iteration

from continual_ml.app.supervision.dagster_internals import SensorTicks

TINY_DEFS = """
import dagster as dg

@dg.op
def noop():
    pass

@dg.job
def tiny_job():
    noop()

@dg.sensor(job=tiny_job, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING)
def counting_sensor(context):
    seen = int(context.cursor or 0)
    return dg.SensorResult(skip_reason=f"continued from {seen}", cursor=str(seen + 1))

defs = dg.Definitions(jobs=[tiny_job], sensors=[counting_sensor])
"""


def tiny_location(folder: Path) -> Path:
    (folder / "tiny_defs.py").write_text(TINY_DEFS)
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(
        '[tool.dagster]\nmodule_name = "tiny_defs"\ncode_location_name = "continual_ml"\n'
    )
    return pyproject


def test_the_daemon_shows_recorded_ticks_and_continues_from_their_cursor(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where `dagster dev` runs from: the module is importable there
    pyproject = tiny_location(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with dg.instance_for_test() as instance:
        from tiny_defs import counting_sensor

        ticks = SensorTicks(instance, counting_sensor, pyproject)
        started = time.time() - 10  # past the minimum interval, so the daemon ticks now
        for _ in range(2):
            context = dg.build_sensor_context(instance=instance, cursor=ticks.cursor)
            evaluation = counting_sensor.evaluate_tick(context)
            ticks.record(started, evaluation, launched={})
            started += 1
        ticks.record(started, evaluation, launched={"tiny-key": "a-run-id"})
        assert ticks.cursor == "2"

        with WorkspaceProcessContext(instance, PyProjectFileTarget(str(pyproject))) as workspace:
            [location] = workspace.create_request_context().code_locations
            remote = location.get_repository("__repository__").get_sensor("counting_sensor")
            # The daemon's and the UI's view of the same sensor finds what was recorded.
            assert remote.selector_id == ticks.selector_id
            state = instance.get_instigator_state(remote.get_remote_origin_id(), remote.selector_id)
            assert state.instigator_data.cursor == "2"
            assert remote.get_current_instigator_state(state).is_running

            list(execute_sensor_iteration(workspace, logging.getLogger("test"), None, None))

        history = instance.get_ticks(remote.get_remote_origin_id(), remote.selector_id)
        newest, *recorded = history
        assert newest.status == TickStatus.SKIPPED
        assert newest.skip_reason == "continued from 2"  # not from 0: it carried on
        assert [t.status for t in recorded] == [
            TickStatus.SUCCESS,
            TickStatus.SKIPPED,
            TickStatus.SKIPPED,
        ]
        assert recorded[0].run_ids == ["a-run-id"] and recorded[0].run_keys == ["tiny-key"]
        assert [t.skip_reason for t in recorded[1:]] == ["continued from 1", "continued from 0"]
        assert ticks.cursor == "3"
