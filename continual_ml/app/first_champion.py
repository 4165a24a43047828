"""The first champion of a user's dataset, trained and promoted from the history they ingested.

Before any model exists there is nothing to monitor or retrain against; this trains the first
one through the same `retrain_job` the sensors launch (tracked, gated, promoted to the registry,
MLflow and the BentoML store), on the training window ending at the newest labelled day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from continual_ml.config import DEFAULT_CONFIG, DatasetConfig, Paths, load_config
from continual_ml.warehouse.connection import (
    warehouse_connection,
    warehouse_exists,
    warehouse_location,
)

# The run's own event log keeps everything; the console says what happened in one line.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class NoHistory(RuntimeError):
    """There is nothing to train on yet: the user has not ingested labelled rows."""


def plays_the_demo_stream(config: DatasetConfig) -> bool:
    """Whether the config describes the synthetic stream, whose days can be generated."""
    demo = load_config(DEFAULT_CONFIG)
    return (config.feature_names, config.label) == (demo.feature_names, demo.label)


def newest_labelled_day(paths: Paths) -> date | None:
    """The latest partition holding a labelled observation (late labels count), if any."""
    location = warehouse_location(paths)
    if not warehouse_exists(location):
        return None
    with warehouse_connection(location, read_only=True) as conn:
        tables = {name for (name,) in conn.execute("SHOW TABLES").fetchall()}
        if "labelled_observations" not in tables:
            return None
        return conn.execute("SELECT max(partition_date) FROM labelled_observations").fetchone()[0]


def bound_definitions(paths: Paths):
    """The code location's definitions with resources bound to `paths` now: the module-level
    `defs` took its resources from the environment of the moment it was imported."""
    import dagster as dg

    from continual_ml.definitions import defs
    from continual_ml.defs.resources import build_resources

    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        sensors=defs.sensors,
        resources=build_resources(paths),
        executor=defs.executor,
    )


def window_rule(config: DatasetConfig) -> str:
    """How the first champion's window is chosen, in words."""
    settings = config.model.training_window
    names = [f"{c} days" if c != "all" else "all of it" for c in settings.candidates_days]
    floor = f", at least {settings.min_rows} rows" if settings.min_rows else ""
    if len(names) == 1:
        return f"{names[0]}{floor}"
    return f"the window among {', '.join(names)} that best predicts its newest rows{floor}"


def train_first_champion(
    paths: Paths, config: DatasetConfig, say: Callable[[str], None] = print
) -> dict:
    """Train and promote the first model from the ingested history; the decision's metadata.

    Raises `NoHistory` when no labelled row is in the warehouse, and `RuntimeError` when the run
    fails (the reason first, the run's id for its full log).
    """
    import dagster as dg

    day = newest_labelled_day(paths)
    if day is None:
        raise NoHistory(
            f"no labelled observations in {warehouse_location(paths).describe()}: "
            "ingest your history first "
            "(continual-ml ingest FILE_OR_FOLDER, labels in the files or with --kind labels)"
        )
    say(f"training the first champion on the history up to {day}: {window_rule(config)}")
    result = (
        bound_definitions(paths)
        .resolve_job_def("retrain_job")
        .execute_in_process(
            partition_key=day.isoformat(),
            instance=dg.DagsterInstance.get(),
            run_config=QUIET_RUN_CONFIG,
            tags={"continual_ml/trigger": "first_champion"},
            raise_on_error=False,
        )
    )
    decisions = result.asset_materializations_for_node("champion_model")
    if not result.success or not decisions:
        failures = [e for e in result.all_events if e.is_step_failure]
        reason = (
            failures[0].step_failure_data.error.message.strip().splitlines()[0]
            if failures
            else "no promotion was recorded"
        )
        raise RuntimeError(f"the first champion was not trained: {reason} (run {result.run_id})")
    outcome = {k: v.value for k, v in decisions[0].metadata.items()}
    [trained] = result.asset_materializations_for_node("candidate_model")
    window = {k: v.value for k, v in trained.metadata.items()}
    say(
        f"  window {window['training_window_choice']}: {window['training_window']}, "
        f"{window['n_train']} rows ({window['training_window_reason']})"
    )
    say(f"  {outcome['decision']} v{outcome['candidate_version']}")
    return outcome
