"""The loop as the daemon would run it, driven one data day at a time in this process.

The landing sensor's work (the monitoring job on the day's file, a label file ingested) is
executed directly. Every other sensor of the code location that decides (all but those in
`NOT_DECIDING` and the run-status sensors) is ticked, `late_labels_sensor` first and
`drift_retrain_sensor` last, and every run it requests is executed, whatever job it names,
until a round of ticks asks for nothing. As the daemon does, a run key already launched is
not launched again, and the run carries its key and sensor as tags.
"""

from __future__ import annotations

from pathlib import Path

NOT_DECIDING = {
    "landing_folder_sensor": "its runs are the ones executed directly here",
    "prediction_log_sensor": "no service runs here, so no prediction log lands",
    "first_champion_sensor": "bootstrap promoted the first champion",
    "drift_explanation_sensor": "renders explanations; decides nothing",
    "queue_aging_sensor": "watches the run queue; every run here executes at once",
}
FIRST, LAST = "late_labels_sensor", "drift_retrain_sensor"
ROUNDS = 4  # rounds of ticks a day at most; a round that asks for nothing ends the day
DECISIONS = "champion_model"  # records every gate decision, a refusal too


class LoopDriver:
    """Dagster definitions bound to the dataset's home, with sensor cursors kept across days."""

    def __init__(self) -> None:
        import dagster as dg

        from continual_ml.app.first_champion import bound_definitions
        from continual_ml.config import Paths, load_config

        self.paths, self.config = Paths.from_env(), load_config()
        self.defs = bound_definitions(self.paths)
        self.instance = dg.DagsterInstance.get()
        self._cursors: dict[str, str | None] = {}
        self._launched: set[tuple[str, str]] = set()  # (sensor, run key), as the daemon keeps
        self.sensors = self._deciding_sensors()

    def _deciding_sensors(self) -> list:
        import dagster as dg

        sensors = [
            sensor
            for sensor in self.defs.sensors
            if sensor.name not in NOT_DECIDING
            and not isinstance(sensor, dg.RunStatusSensorDefinition)
        ]
        order = {FIRST: 0, LAST: 2}
        return sorted(sensors, key=lambda s: (order.get(s.name, 1), s.name))

    def champion(self) -> tuple[int, object]:
        """The version in charge and its model, as the service would load it."""
        import duckdb

        from continual_ml.training.pipeline import load_model
        from continual_ml.warehouse import registry

        with duckdb.connect(str(self.paths.warehouse), read_only=True) as conn:
            champion = registry.current_champion(conn)
        return champion["version"], load_model(champion["artifact"], champion["sha256"])

    def monitor(self, partition: str, landed: Path) -> float:
        """The monitoring job on the day's file (the landing sensor's run); its drift share."""
        files = {"ops": {"observations": {"config": {"landed_files": [str(landed)]}}}}
        monitored = self._execute("monitoring_job", partition, run_config=files)
        if not monitored.success:
            failures = [e for e in monitored.all_events if e.is_step_failure]
            details = failures[0].step_failure_data.error.to_string() if failures else ""
            raise RuntimeError(f"monitoring_job failed on {partition}: {details}")
        [report] = monitored.asset_materializations_for_node("drift_report")
        return float(report.metadata["drift_share"].value)

    def day_details(self, partition: str) -> dict:
        """What a day's record holds of the loop besides the champion and the drift: nothing
        here (`RegressionLoopDriver` adds what monitoring recorded)."""
        return {}

    def land_labels(self, labels: Path) -> None:
        """Ingest a label file (the landing sensor's run on `landing/labels/`)."""
        from continual_ml.app.first_champion import QUIET_RUN_CONFIG

        ingest = {"paths": [str(labels)], "kind": "labels"}
        result = self.defs.resolve_job_def("ingest_file_job").execute_in_process(
            instance=self.instance,
            run_config={**QUIET_RUN_CONFIG, "ops": {"ingest_landed_file": {"config": ingest}}},
            raise_on_error=False,
        )
        if not result.success:
            raise RuntimeError(f"ingesting {labels} failed")

    def decide(self) -> list[dict]:
        """Tick the deciding sensors and run what they ask for; each run's job and decisions."""
        runs: list[dict] = []
        for _ in range(ROUNDS):
            launched = len(runs)
            for sensor in self.sensors:
                for request in self._tick(sensor):
                    key = (sensor.name, request.run_key)
                    if request.run_key is not None and key in self._launched:
                        continue
                    self._launched.add(key)
                    runs.append(self._run(sensor, request))
            if len(runs) == launched:
                break
        return runs

    def _run(self, sensor, request) -> dict:
        from continual_ml.decisions.retrain_policy import CAUSES_TAG

        job = request.job_name or sensor.job_name
        tags = {**request.tags, "dagster/sensor_name": sensor.name}
        if request.run_key is not None:
            tags["dagster/run_key"] = request.run_key
        result = self._execute(job, request.partition_key, tags=tags)
        decided = [
            event.materialization.metadata
            for event in result.get_asset_materialization_events()
            if event.asset_key.to_user_string() == DECISIONS
        ]
        return {
            "sensor": sensor.name,
            "job": job,
            "partition": request.partition_key,
            "success": result.success,
            "decisions": [d["decision"].value for d in decided if "decision" in d],
            # why, as the gate said it (shortened): the figures behind each decision
            "reasons": [d["reason"].value[:400] for d in decided if "reason" in d],
            **({"causes": tags[CAUSES_TAG]} if CAUSES_TAG in tags else {}),
        }

    def _tick(self, sensor) -> list:
        import dagster as dg

        from continual_ml.defs.resources import build_resources

        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self._cursors.get(sensor.name),
            definitions=self.defs,
            # only what the sensor takes: a run's resources (MLflow) need a run to start
            resources={
                key: resource
                for key, resource in build_resources(self.paths).items()
                if key in sensor.required_resource_keys
            },
        )
        result = sensor.evaluate_tick(context)
        self._cursors[sensor.name] = result.cursor
        return result.run_requests

    def _execute(self, job: str, partition: str | None, run_config=None, tags=None):
        from continual_ml.app.first_champion import QUIET_RUN_CONFIG

        return self.defs.resolve_job_def(job).execute_in_process(
            partition_key=partition,
            instance=self.instance,
            run_config={**QUIET_RUN_CONFIG, **(run_config or {})},
            tags=tags or {},
            raise_on_error=False,
        )
