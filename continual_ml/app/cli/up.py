"""`continual-ml up`: bootstrap a champion if there is none, run the live system, play traffic,
and stop everything cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import datetime

import dagster as dg

from continual_ml.alerts.delivery import Alert
from continual_ml.alerts.links import mlflow_experiment_url
from continual_ml.alerts.payloads import send_alert
from continual_ml.app.first_champion import plays_the_demo_stream, train_first_champion
from continual_ml.app.local_home import ensure_mlflow_experiment
from continual_ml.app.supervision.disk_space import MB, DiskSpace
from continual_ml.app.supervision.live_system import CodeServerPing, LiveSystem, Ports
from continual_ml.app.supervision.orphan_reaper import mark_this_process, start_reaper
from continual_ml.app.supervision.run_workers import RunWorkerWatch
from continual_ml.app.supervision.supervisor import GaveUp, Supervisor
from continual_ml.config import DatasetConfig, Paths, load_config
from continual_ml.demo.synthetic_stream import day_index, partition_date
from continual_ml.demo.traffic import ACKNOWLEDGED_FILE, FileDays, TrafficGenerator
from continual_ml.models.store import read_pointer
from continual_ml.settings import Settings


def _say(text: str) -> None:
    print(text, flush=True)


def _said_at(text: str) -> None:
    """A line of `up`'s log, with its local date and time: it runs for days."""
    print(f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S%z} {text}", flush=True)


def bootstrap(paths: Paths, config: DatasetConfig, say: Callable[[str], None] = _say) -> int:
    """Train the first champion in this process if there is none; the next day to play."""
    from datetime import date

    import dagster as dg

    from continual_ml.demo.driver import DEMO_BATCHES, LoopDriver

    instance = dg.DagsterInstance.get()
    observed = instance.get_materialized_partitions(dg.AssetKey("observations"))
    if read_pointer(paths.bentoml_home) is None and not plays_the_demo_stream(config):
        # A user's dataset: the first champion comes from their history, never from the demo.
        train_first_champion(paths, config, say)
    elif read_pointer(paths.bentoml_home) is None:
        warmup = config.model.training_window_days
        say(f"no champion yet: landing {warmup} days and training the first one")
        driver = LoopDriver(paths.home / DEMO_BATCHES)
        days = [partition_date(config, i).isoformat() for i in range(warmup)]
        for day in days:
            driver.monitor(day, explain=False)
        outcome = driver.retrain(days[-1])
        say(f"  {outcome['decision']} v{outcome['candidate_version']}")
        observed = set(observed) | set(days)
    latest = max((date.fromisoformat(day) for day in observed), default=config.partitions_start)
    return day_index(config, latest) + 1


def traffic_source(
    config: DatasetConfig, traffic: bool, traffic_from: str | None
) -> FileDays | None:
    """The user's file to replay as traffic, read and checked before anything starts; None
    for the demo's stream or no traffic. The synthetic stream is the demo's: a user's dataset
    has no such stream, so `--traffic` alone is refused for it."""
    if traffic_from is not None:
        return FileDays(traffic_from, config)
    if traffic and not plays_the_demo_stream(config):
        raise ValueError(
            f"--traffic plays the demo's synthetic stream, which dataset {config.name!r} is not: "
            "replay your own rows with --traffic-from FILE (CSV or Parquet in your format)"
        )
    return None


def _supervise(
    system: LiveSystem, paths: Paths, say: Callable[[str], None], disk: DiskSpace
) -> Supervisor:
    """A supervisor whose every restart is said, kept in the state file `status` reads, and
    alerted on; a restart limit reached is alerted on too, before `up` stops."""

    def notify(event: str, name: str, text: str) -> None:
        say(f"supervisor: {name} {text}")
        alert = Alert(
            "component_failed" if event == "gave_up" else "component_restarted",
            f"{name} of the live system " + ("keeps failing" if event == "gave_up" else "failed"),
            text,
            {"component": name, "log": str(system.log_dir / f"{name}.log")},
            action="stopping the live system" if event == "gave_up" else "restarting it",
        )
        _alert(alert, paths, say)

    return Supervisor(system.components(), notify, never_give_up=lambda: disk.state == "full")


def _alert(alert: Alert, paths: Paths, say: Callable[[str], None]) -> None:
    settings = Settings.from_env()
    send_alert(
        alert,
        slack_webhook_url=Settings.secret(settings.slack_webhook_url),
        discord_webhook_url=Settings.secret(settings.discord_webhook_url),
        record_path=paths.alerts_record,
        say=lambda line: None,  # already said by the caller
        warn=say,
    )


def _watch_disk(paths: Paths, say: Callable[[str], None]) -> DiskSpace:
    """The home's free space, each change of state said and alerted on (webhooks need no disk)."""

    def notify(state: str, text: str) -> None:
        say(f"disk: {state}: {text}")
        title = {"full": "the disk is full", "low": "disk space is low", "ok": "disk space is back"}
        event = "disk_recovered" if state == "ok" else "disk_pressure"
        _alert(Alert(event, title[state], text, {"home": str(paths.home)}), paths, say)

    warn_below = int(Settings.from_env().disk_warn_free_mb * MB)
    return DiskSpace(paths.home, warn_below, notify)


class _Stop(Exception):
    pass


def _raise_stop(signum, frame) -> None:
    raise _Stop()


def run_up(
    paths: Paths,
    ports: Ports,
    traffic: bool,
    days: int | None,
    day_seconds: float,
    say: Callable[[str], None] = _said_at,
    traffic_from: str | None = None,
) -> int:
    config = load_config()
    file_days = traffic_source(config, traffic, traffic_from)
    # Before anything starts: all it starts carries the mark, and ends once `up` has ended.
    start_reaper(mark_this_process())
    next_day = bootstrap(paths, config, say)
    system = LiveSystem(paths, ports)
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    # Ctrl-C stops everything even when `up` was started where SIGINT is ignored (a background
    # job of a script inherits that, and Python then leaves it ignored).
    previous_interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)
    generator = None
    try:
        say("starting the Dagster code server, daemon and webserver, MLflow and the service…")
        system.start()
        urls = system.urls()
        for name, url in urls.items():
            say(f"  {name:<8} {url}")
        if "mlflow" in urls:  # the runs, not MLflow's GenAI overview a bare link opens on
            experiment = ensure_mlflow_experiment(paths.mlflow_tracking_uri, paths.mlflow_artifacts)
            say(f"  {'runs':<8} {mlflow_experiment_url(experiment, urls['mlflow'])}")
        if traffic or file_days is not None:
            generator = TrafficGenerator(
                config,
                system.service.url,
                paths.home / "landing",
                0 if file_days else next_day,
                days,
                day_seconds,
                acknowledged_path=paths.home / ACKNOWLEDGED_FILE,
                days=file_days,
            )
            generator.start()
            first = file_days.days[0] if file_days else partition_date(config, next_day)
            source = f"{traffic_from}'s days" if file_days else "the synthetic stream"
            say(f"traffic: {source} from {first}, {day_seconds:g} s a day")
        disk = _watch_disk(paths, say)
        supervisor = _supervise(system, paths, say, disk)
        # Runs left STARTED by workers that died (here, or with an earlier `up`) fail, and retry.
        code_server = CodeServerPing(system.ports.code_server)
        run_workers = RunWorkerWatch(dg.DagsterInstance.get(), say, code_server.answers)
        run_workers.check()
        say("running; Ctrl-C stops everything")
        while True:
            time.sleep(1)
            disk.check()
            run_workers.check()
            try:
                supervisor.check()
            except GaveUp as gave_up:
                say(f"stopping: {gave_up} (logs in {system.log_dir})")
                return 1
            except OSError as error:  # a restart that found no room: tried again next round
                say(f"supervisor: {error!r}")
            finally:  # the pids and restarts `status` shows; not written while the disk is full
                system.write_state(supervisor.summary())
            if generator is not None and generator.error is not None:
                say(f"traffic stopped: {generator.error!r}")
                generator = None
    except (KeyboardInterrupt, _Stop):
        say("stopping…")
        return 0
    finally:
        if generator is not None:
            generator.stop()
        system.stop()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_interrupt)
        say("stopped")
