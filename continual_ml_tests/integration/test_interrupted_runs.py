"""A run stopped by SIGTERM while DuckDB runs a query fails as terminated, so run retries launch
it again; it must not read as a failed step, which nothing retries (a landed file's run would be
dropped). Through Dagster's own CLI, which handles SIGTERM as its run workers do, with the
in-process executor the pipeline runs on (the multiprocess one would hide the difference: its
parent process sees the signal itself)."""

import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import pytest

from continual_ml_tests.support.live_home import wait_for

DEFINITIONS = """
from pathlib import Path

import dagster as dg

from continual_ml.defs.resources import WarehouseResource


@dg.asset
def long_query(warehouse: WarehouseResource) -> None:
    with warehouse.get_connection() as conn:
        Path({marker!r}).touch()
        conn.execute("SELECT count(*) FROM range(100000000000) a").fetchall()


defs = dg.Definitions(
    assets=[long_query],
    resources={{"warehouse": WarehouseResource(database={database!r})}},
    executor=dg.in_process_executor,  # as the pipeline runs (continual_ml/definitions.py)
)
"""

INSTANCE = """
run_retries:
  enabled: true
  max_retries: 2
  retry_on_asset_or_op_failure: false
telemetry:
  enabled: false
"""


@pytest.mark.timeout(600)
def test_a_sigterm_during_a_query_fails_the_run_as_terminated_and_it_will_retry(
    tmp_path, monkeypatch
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE)
    marker = tmp_path / "query_started"
    definitions = tmp_path / "definitions.py"
    definitions.write_text(
        textwrap.dedent(DEFINITIONS).format(
            marker=str(marker), database=str(tmp_path / "warehouse.duckdb")
        )
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    log = tmp_path / "materialize.log"
    command = [sys.executable, "-m", "dagster", "asset", "materialize"]
    command += ["-f", str(definitions), "--select", "long_query"]
    with log.open("wb") as out:
        worker = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)
    try:
        wait_for(marker.exists, 180, "the query started", log)
        time.sleep(2)  # well into the query, which runs for hours
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=240)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)

    with dg.DagsterInstance.get() as instance:
        [record] = instance.get_run_records()
        run = record.dagster_run
        tags = dict(run.tags)
        failures = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records
    assert run.status == dg.DagsterRunStatus.FAILURE, log.read_text()[-3000:]
    assert tags.get("dagster/failure_reason") == "UNEXPECTED_TERMINATION", (tags, log.read_text())
    assert tags.get("dagster/will_retry") == "true", tags
    [failure] = failures
    error = failure.event_log_entry.dagster_event.step_failure_data.error
    assert error.cls_name == "KeyboardInterrupt", error
