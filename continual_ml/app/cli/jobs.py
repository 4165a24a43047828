"""Running a Dagster job in the command's own process, against the local instance."""

from __future__ import annotations

from continual_ml.app.errors import CommandFailed, root_cause
from continual_ml.config import Paths

# The runs' event logs keep every step in the Dagster instance; the console gets one line each.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_job_in_process(paths: Paths, job, op_name: str, op_config: dict):
    """Run a job in this process against the local instance, so the UI shows it."""
    import dagster as dg

    from continual_ml.defs.resources import build_resources

    result = job.execute_in_process(
        run_config={"ops": {op_name: {"config": op_config}}, **QUIET_RUN_CONFIG},
        resources=build_resources(paths),
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
    )
    if not result.success:
        raise_step_failure(result, f"{job.name} run {result.run_id}")
    return result.output_for_node(op_name)


def raise_step_failure(result, where: str) -> None:
    """Raise the first failed step's root cause, with its traceback for the log."""
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.step_failure_data.error
    raise CommandFailed(root_cause(error), f"{where}\n{error.to_string()}")
