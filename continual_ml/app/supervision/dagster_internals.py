"""Every use of Dagster internals, in one place, each where Dagster has no public API for it.

- Sensor ticks evaluated outside the daemon, kept where the daemon keeps its own (`SensorTicks`).
  The demo evaluates sensors in its own process, so it can run each requested retrain before the
  next simulated day. Dagster records nothing for such an evaluation (`build_sensor_context` plus
  `evaluate_tick` is public, recording its tick is not): the Automation page would show no tick,
  and the daemon of a later `dagster dev` would start the sensor without a cursor and judge every
  partition again. Measured by integration/test_sensor_ticks.py: with the ticks recorded here,
  Dagster's own daemon iteration continues from cursor 2; without them, from 0. The internals
  used are the instigator state and tick records of the schedule storage, keyed by the selector
  `dagster dev` computes for the code location of `[tool.dagster]` in pyproject.toml.
- A ping of the code server that reaches its gRPC child (`code_server_answers`). The public
  `dagster api grpc-health-check -p PORT` asks the gRPC health service of the outer
  `dagster code-server start` process, which answers SERVING after its gRPC child was killed
  (measured: exit 0, "gRPC connection successful", 2 s after `kill -9` of the child, while this
  ping failed with DagsterUserCodeUnreachableError), so the supervisor would never restart it;
  and as a command it costs ~1.0 s of CPU per check (`time dagster api grpc-health-check -p 1`:
  user 0.91 s + sys 0.16 s), a fifth of a core at the supervisor's 5 s health interval.
- A run launcher's answer to the monitoring daemon (`run_worker_health_result`). A launcher's
  `check_run_worker_health` returns a `CheckRunHealthResult` with a `WorkerStatus`, neither of
  them exported by `dagster`; the runs-on-workers launcher (continual_ml/app/workers/launcher.py)
  answers FAILED for a lost worker's run, which is what makes the daemon fail the run (and
  `run_retries` run it again) within about a minute instead of never.

continual_ml_tests/integration/test_sensor_ticks.py, test_live_supervision.py and
test_lost_worker_host.py fail, by name, if a Dagster upgrade changes what is relied on here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster._core.definitions.repository_definition.valid_definitions import (
    SINGLETON_REPOSITORY_NAME,
)
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.remote_origin import RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._core.workspace.load_target import PyProjectFileTarget


class SensorTicks:
    """One sensor's tick history and cursor in the instance, as the daemon would write them."""

    def __init__(self, instance: dg.DagsterInstance, sensor: dg.SensorDefinition, pyproject: Path):
        [location] = PyProjectFileTarget(str(pyproject)).create_origins()
        repository = RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME)
        self.instance, self.sensor = instance, sensor
        self.origin = RemoteInstigatorOrigin(repository, sensor.name)
        # Both the daemon and the UI look a sensor up by this id: (location, repository, name).
        self.selector_id = self.origin.get_selector().get_id()

    def state(self) -> InstigatorState | None:
        return self.instance.get_instigator_state(self.origin.get_id(), self.selector_id)

    @property
    def cursor(self) -> str | None:
        state = self.state()
        return state.instigator_data.cursor if state and state.instigator_data else None

    def ticks(self, limit: int = 100) -> list:
        return list(self.instance.get_ticks(self.origin.get_id(), self.selector_id, limit=limit))

    def record(
        self,
        started: float,
        evaluation: SensorExecutionData,
        launched: Mapping[str, str],
        skip_reason: str | None = None,
    ) -> None:
        """Record one evaluation that began at `started` (a Unix time): its runs (run key to run
        id, those this process launched), or why it launched none, and the cursor it moved to."""
        status = TickStatus.SUCCESS if launched else TickStatus.SKIPPED
        # As the daemon does: an evaluation that set no cursor keeps the one it started from.
        cursor = evaluation.cursor or self.cursor
        tick = self.instance.create_tick(
            TickData(
                instigator_origin_id=self.origin.get_id(),
                instigator_name=self.sensor.name,
                instigator_type=InstigatorType.SENSOR,
                status=TickStatus.STARTED,
                timestamp=started,
                selector_id=self.selector_id,
            )
        )
        tick = tick.with_status(status).with_cursor(cursor)
        for run_key, run_id in launched.items():
            tick = tick.with_run_info(run_id, run_key)
        reason = skip_reason or evaluation.skip_message
        if status == TickStatus.SKIPPED and reason:
            tick = tick.with_reason(reason)
        self.instance.update_tick(tick)
        self._advance(started, cursor, next(reversed(launched), None))

    def _advance(self, started: float, cursor: str | None, run_key: str | None) -> None:
        state = self.state()
        data = state.instigator_data if state else None
        now = time.time()
        new_data = SensorInstigatorData(
            last_tick_timestamp=started,
            last_run_key=run_key or (data.last_run_key if data else None),
            min_interval=self.sensor.minimum_interval_seconds,
            cursor=cursor,
            last_tick_start_timestamp=started,
            last_sensor_start_timestamp=data.last_sensor_start_timestamp if data else now,
            sensor_type=self.sensor.sensor_type,
            last_tick_success_timestamp=now,
        )
        if state is None:
            # As the daemon stores a sensor that runs by default: its status stays in the code.
            self.instance.add_instigator_state(
                InstigatorState(
                    self.origin, InstigatorType.SENSOR, InstigatorStatus.DECLARED_IN_CODE, new_data
                )
            )
        else:
            self.instance.update_instigator_state(state.with_data(new_data))


def code_server_answers(port: int, host: str = "127.0.0.1") -> None:
    """Ping the code server at `port`; the ping is forwarded to its gRPC child, so this raises
    when that child is gone even though the outer server still accepts connections."""
    from dagster._grpc.client import DagsterGrpcClient  # heavy import, only where it is used

    DagsterGrpcClient(port=port, host=host).ping("supervisor")


def run_worker_health_result(status: str, message: str):
    """Dagster's `CheckRunHealthResult` for the `WorkerStatus` named `status`."""
    from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

    return CheckRunHealthResult(WorkerStatus[status], message)
