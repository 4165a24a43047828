"""Days of the demo's synthetic stream landed as files, the way any data arrives: `observations`
ingests them and never makes rows up."""

from datetime import date
from pathlib import Path

from continual_ml.config import DatasetConfig, default_config
from continual_ml.demo.synthetic_stream import batch_file


def landed(day, folder: Path, config: DatasetConfig | None = None) -> dict:
    """The run config that lands the stream's batch of `day` through `observations`."""
    path = batch_file(config or default_config(), date.fromisoformat(str(day)), Path(folder))
    return {"ops": {"observations": {"config": {"landed_files": [str(path)]}}}}


def land_days(days, home, resources, instance) -> None:
    """Materialize `observations` for each day, landing the stream's batch of that day."""
    import dagster as dg

    from continual_ml.defs.data.assets import observations

    for day in days:
        assert dg.materialize(
            [observations],
            partition_key=str(day),
            run_config=landed(day, home.home / "batches"),
            resources=resources,
            instance=instance,
        ).success


def materialize_day(assets, day, home, instance, run_config=None, expect_success=True, tags=None):
    """Materialize `assets` for `day` on the home's resources, the run tagged with `tags`;
    `observations` lands the stream's batch of that day unless `run_config` says which files
    land."""
    import dagster as dg

    from continual_ml.defs.data.assets import observations
    from continual_ml.defs.resources import build_resources

    if run_config is None and observations in assets:
        run_config = landed(day, home.home / "batches")
    result = dg.materialize(
        assets,
        partition_key=str(day),
        run_config=run_config,
        resources=build_resources(home),
        instance=instance,
        raise_on_error=False,
        tags=tags,
    )
    assert result.success is expect_success, [e.message for e in result.all_events if e.is_failure]
    return result
