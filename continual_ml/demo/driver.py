"""The continual-learning demo: days of traffic with drift part way, closed by the real loop.

Each simulated day: the day's rows go to the running BentoML service over HTTP, then land in
DuckDB with their labels (monitoring job), the drift sensor ticks against the real Dagster
instance, any retrain it requests runs, and the service is watched until it serves the winner.
"""

from __future__ import annotations

import csv
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import httpx

from continual_ml.app.local_home import prepare
from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.config import Paths, default_config
from continual_ml.demo.synthetic_stream import batch_file, generate_batch, partition_date

HOME_MARKER = ".continual_ml_home"
# The runs' own event logs stay complete in the Dagster instance; the console shows the timeline
# (a candidate the gate refuses is a decision, not a failure: the timeline says so in one line).
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
REQUEST_ROWS = 500
# Where the demo writes each day's batch before landing it.
DEMO_BATCHES = "demo_batches"


@dataclass
class DayRecord:
    day: str
    drift_share: float
    served_versions: str
    served_accuracy: float
    events: list[str] = field(default_factory=list)
    champion_after: int | None = None

    def as_row(self) -> dict:
        row = asdict(self)
        row["events"] = "; ".join(self.events)
        return row


def ensure_port_free(port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as error:
            raise RuntimeError(
                f"port {port} on 127.0.0.1 is not free for the demo's service ({error.strerror}); "
                "choose another with --service-port or CONTINUAL_ML_DEMO_SERVICE_PORT"
            ) from error


def reset_home(paths: Paths) -> None:
    """Start from nothing, but only ever delete a folder this tool made."""
    if paths.home.exists():
        if not (paths.home / HOME_MARKER).exists() and any(paths.home.iterdir()):
            raise RuntimeError(f"{paths.home} is not a continual-ml home; refusing to delete it")
        shutil.rmtree(paths.home)
    paths.home.mkdir(parents=True)
    (paths.home / HOME_MARKER).write_text("created by continual-ml\n")


class LoopDriver:
    """Drives the Dagster side of the loop in this process against the persistent instance."""

    def __init__(self, batches: Path) -> None:
        import logging
        import warnings

        import dagster as dg

        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        logging.getLogger("mlflow").setLevel(logging.ERROR)  # not its pip-version guesses

        from continual_ml.definitions import defs

        self.dg, self.defs, self.batches = dg, defs, batches
        self.config = default_config()
        self.instance = dg.DagsterInstance.get()
        self._drift_ticks = None

    def monitor(self, day: str, explain: bool = True) -> float:
        # The day's batch arrives as a file, as a user's would: `observations` never makes rows up.
        batch = batch_file(self.config, date.fromisoformat(day), self.batches)
        landed = {"ops": {"observations": {"config": {"landed_files": [str(batch)]}}}}
        result = self.defs.resolve_job_def("monitoring_job").execute_in_process(
            partition_key=day, instance=self.instance, run_config={**QUIET_RUN_CONFIG, **landed}
        )
        [report] = result.asset_materializations_for_node("drift_report")
        if explain:  # the daemon would render Evidently's report in a run of its own
            self.defs.resolve_job_def("drift_explanation_job").execute_in_process(
                partition_key=day, instance=self.instance, run_config=QUIET_RUN_CONFIG
            )
        return float(report.metadata["drift_share"].value)

    def retrain(self, day: str, tags: dict[str, str] | None = None) -> dict:
        result = self.defs.resolve_job_def("retrain_job").execute_in_process(
            partition_key=day,
            instance=self.instance,
            tags=tags or {},
            run_config=QUIET_RUN_CONFIG,
            # a broken candidate fails its run; the timeline reports it rather than raising
            raise_on_error=False,
        )
        decisions = result.asset_materializations_for_node("champion_model")
        if decisions:
            decision = {k: v.value for k, v in decisions[0].metadata.items()}
            return {**decision, "run_id": result.run_id}
        verdicts = [
            e.asset_check_evaluation_data
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
        if not verdicts or verdicts[0].passed:
            raise RuntimeError(f"retrain_job failed on {day}; see run {result.run_id}")
        verdict = {k: v.value for k, v in verdicts[0].metadata.items()}
        return {
            "decision": "rejected",
            "candidate_version": verdict["candidate_version"],
            "reason": verdict["reason"],
            "run_id": result.run_id,
        }

    @property
    def drift_ticks(self):
        """The drift sensor's ticks and cursor in the instance, where the daemon of a later
        `dagster dev` (the code location of pyproject.toml) shows them and carries on."""
        if self._drift_ticks is None:
            from continual_ml.app.supervision.dagster_internals import SensorTicks
            from continual_ml.app.supervision.service_process import REPO_ROOT

            sensor = self.defs.resolve_sensor_def("drift_retrain_sensor")
            self._drift_ticks = SensorTicks(self.instance, sensor, REPO_ROOT / "pyproject.toml")
        return self._drift_ticks

    def tick_drift_sensor(self):
        """Evaluate the drift sensor from its stored cursor and launch what it requests, as the
        daemon would; the tick is recorded with its reason or its runs. Returns the evaluation
        and each request with its outcome (None: its run key had run before)."""
        started = time.time()
        context = self.dg.build_sensor_context(
            instance=self.instance,
            definitions=self.defs,
            cursor=self.drift_ticks.cursor,
            resources={"dataset": self.defs.resources["dataset"]},
        )
        tick = self.drift_ticks.sensor.evaluate_tick(context)
        outcomes = [(request, self.run_requested(request)) for request in tick.run_requests]
        launched = {r.run_key: o["run_id"] for r, o in outcomes if o is not None}
        already = [f"run key {r.run_key} already ran" for r, o in outcomes if o is None]
        self.drift_ticks.record(started, tick, launched, skip_reason="; ".join(already) or None)
        return tick, outcomes

    def ingest_served_logs(self) -> int:
        """Ingest the service's closed prediction and feedback logs as the log sensor would, with
        its run key, so the daemon of a later `make dev` does not ingest them again."""
        sensor = self.defs.resolve_sensor_def("prediction_log_sensor")
        tick = sensor.evaluate_tick(
            self.dg.build_sensor_context(instance=self.instance, definitions=self.defs)
        )
        for request in tick.run_requests:
            self.defs.resolve_job_def(request.job_name).execute_in_process(
                instance=self.instance,
                run_config={**request.run_config, **QUIET_RUN_CONFIG},
                tags={**request.tags, "dagster/run_key": request.run_key},
            )
        return len(tick.run_requests)

    def run_requested(self, run_request, sensor: str = "drift_retrain_sensor") -> dict | None:
        """Launch a sensor's run request as the daemon would: at most once per run key."""
        existing = self.instance.get_run_ids(
            self.dg.RunsFilter(tags={"dagster/run_key": run_request.run_key}), limit=1
        )
        if existing:
            return None
        tags = {k: v for k, v in run_request.tags.items() if not k.startswith("dagster/partition")}
        # The tags the daemon would add: the UI then says which sensor launched the run.
        launched = {"dagster/run_key": run_request.run_key, "dagster/sensor_name": sensor}
        return self.retrain(run_request.partition_key, {**tags, **launched})


def send_traffic(service: ServiceProcess, rows, config) -> tuple[float, set[int]]:
    """Post the day's rows to the service, then their true labels as feedback (the labels a
    real client sends back later); return accuracy against the labels, and versions."""
    correct, versions, feedback = 0, set(), []
    records = rows[config.feature_names].to_dict("records")
    labels = rows[config.label].to_numpy()
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for start in range(0, len(records), REQUEST_ROWS):
            batch = records[start : start + REQUEST_ROWS]
            response = client.post("/predict_batch", json={"rows": batch})
            response.raise_for_status()
            body = response.json()
            versions.add(body["model_version"])
            predicted = [p["predicted_class"] for p in body["predictions"]]
            truth = labels[start : start + len(predicted)]
            correct += int((truth == predicted).sum())
            feedback += [
                {"prediction_id": p["prediction_id"], "label": int(label)}
                for p, label in zip(body["predictions"], truth, strict=True)
            ]
        for start in range(0, len(feedback), REQUEST_ROWS):
            client.post(
                "/feedback", json={"items": feedback[start : start + REQUEST_ROWS]}
            ).raise_for_status()
    return correct / len(records), versions


def run_demo(
    paths: Paths,
    n_days: int | None = None,
    say: Callable[[str], None] = print,
    service_port: int | None = None,
):
    """Play the scenario; the service listens on `service_port` (None: a free port)."""
    config = default_config()
    n_days = n_days or config.stream.drift_day + 6
    warmup = config.model.training_window_days
    if service_port is not None:  # refused before the home is reset, not minutes later
        ensure_port_free(service_port)
    reset_home(paths)
    prepare(paths)
    driver = LoopDriver(paths.home / DEMO_BATCHES)
    started = time.monotonic()
    days = [partition_date(config, i).isoformat() for i in range(n_days)]

    say(f"bootstrap: landing {warmup} days and training the first champion")
    for day in days[:warmup]:
        driver.monitor(day)
    first = driver.retrain(days[warmup - 1])
    say(f"  {first['decision']} v{first['candidate_version']}: {first['reason']}")

    timeline: list[DayRecord] = []
    service = ServiceProcess(
        paths.bentoml_home,
        paths.home / "logs" / "service.log",
        paths.prediction_logs,
        port=service_port,
    )
    with service:
        say(f"service ready at {service.url}, serving v{service.served_version()}")
        champion = service.served_version()
        for index, day in enumerate(days[warmup:], start=warmup):
            rows = generate_batch(config, partition_date(config, index))
            accuracy, versions = send_traffic(service, rows, config)
            record = DayRecord(
                day, driver.monitor(day), ",".join(map(str, sorted(versions))), round(accuracy, 4)
            )
            tick, outcomes = driver.tick_drift_sensor()
            if not tick.run_requests:
                record.events.append(f"sensor skipped: {tick.skip_message}")
            for request, outcome in outcomes:
                if outcome is None:
                    record.events.append(f"sensor: {request.run_key} already ran")
                    continue
                version = outcome["candidate_version"]
                record.events.append(f"retrain v{version} {outcome['decision']}")
                if outcome["decision"] == "promoted":
                    champion = int(outcome["champion_version"])
                    waited = service.wait_for_version(champion)
                    record.events.append(f"service swapped to v{champion} in {waited:.1f}s")
            record.champion_after = champion
            timeline.append(record)
            say(format_row(record))
    # The service closed its logs on the way out: what it served, and the feedback, go in.
    driver.ingest_served_logs()
    elapsed = time.monotonic() - started
    csv_path = paths.home / "demo_timeline.csv"
    write_csv(timeline, csv_path)
    say(f"demo finished in {elapsed:.0f}s; timeline written to {csv_path}")
    return timeline


def format_row(record: DayRecord) -> str:
    return (
        f"{record.day}  drift {record.drift_share:4.2f}  served v{record.served_versions:<5} "
        f"accuracy {record.served_accuracy:.3f}  champion v{record.champion_after}  "
        + "; ".join(record.events)
    )


def write_csv(timeline: list[DayRecord], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(timeline[0].as_row()))
        writer.writeheader()
        writer.writerows(record.as_row() for record in timeline)
