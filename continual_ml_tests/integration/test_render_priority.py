"""A drift-explanation render yields the CPU only in a run process of its own."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, tempfile
    import dagster as dg
    from continual_ml.defs.monitoring.assets import RENDER_NICENESS, yield_cpu

    os.environ["BROKER"] = "sqla+sqlite:///" + tempfile.mkdtemp() + "/broker.db"
    os.environ["BACKEND"] = "db+sqlite:///" + tempfile.mkdtemp() + "/backend.db"
    workers = {  # a worker's pool process runs many runs: it must not stay niced
        "module": "continual_ml.app.workers.launcher",
        "class": "WorkerRunLauncher",
        "config": {"broker": {"env": "BROKER"}, "backend": {"env": "BACKEND"}},
    }
    before = os.nice(0)
    with dg.instance_for_test(overrides={"run_launcher": workers}) as shared:
        in_process = yield_cpu(dg.build_asset_context(instance=shared))
    after_in_process = os.nice(0)
    with tempfile.TemporaryDirectory() as home:
        with dg.DagsterInstance.local_temp(home) as own:  # DefaultRunLauncher: a process a run
            launcher = type(own.run_launcher).__name__
            own_process = yield_cpu(dg.build_asset_context(instance=own))
    print(launcher, in_process, after_in_process - before, own_process, os.nice(0) - before,
          RENDER_NICENESS)
    """
)


def test_a_render_lowers_its_priority_only_in_a_run_process_of_its_own():
    # In a child: a niced pytest process would stay niced for every later test.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    launcher, in_process, unchanged, own_process, raised, niceness = done.stdout.split()
    assert launcher == "DefaultRunLauncher"
    assert (in_process, int(unchanged)) == ("False", 0)
    assert own_process == "True"
    assert int(raised) == int(niceness) > 0
