"""The README's commands as a new user runs them: only the system's directories on PATH (no uv, no
activated `.venv`), real processes, bounded waits, cleanup by process group."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from continual_ml.app.supervision.service_process import free_port
from continual_ml_tests.support.processes import stop_group

ROOT = Path(__file__).parents[2]
# What a fresh machine has on PATH: no uv, no pyenv shims, no project environment.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def new_user_env(tmp_path: Path) -> dict[str, str]:
    """This machine's environment (certificates, locale) with a new user's PATH and home, and
    nothing of the project's own environment or of the test run's."""
    leave_out = {"VIRTUAL_ENV", "DAGSTER_HOME", "BENTOML_HOME", "MLFLOW_TRACKING_URI", "PYTHONPATH"}
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in leave_out and not name.startswith(("CONTINUAL_ML_", "PYTEST_"))
    }
    return {
        **env,
        "PATH": SYSTEM_PATH,
        "CONTINUAL_ML_HOME": str(tmp_path / "home"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }


def test_make_dev_serves_the_ui_on_the_chosen_port(tmp_path):
    port = free_port()
    log = (tmp_path / "make-dev.log").open("wb")
    started = time.monotonic()
    dev = subprocess.Popen(
        ["make", "dev", f"DEV_PORT={port}"],
        cwd=ROOT,
        env=new_user_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        locations = None
        while time.monotonic() - started < 60 and dev.poll() is None:
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={
                        "query": "{ workspaceOrError { ... on Workspace { locationEntries {"
                        " name locationOrLoadError { __typename } } } } }"
                    },
                    timeout=5,
                )
                entries = answer.json()["data"]["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["locationOrLoadError"]:
                    locations = entries
                    break
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                pass
            time.sleep(1)
        output = (tmp_path / "make-dev.log").read_text(errors="replace")[-3000:]
        assert locations is not None, f"no UI on port {port} within 60 s:\n{output}"
        # The code location carries the name pyproject.toml promises, and it loaded.
        assert locations == [
            {"name": "continual_ml", "locationOrLoadError": {"__typename": "RepositoryLocation"}}
        ], locations
    finally:
        stop_group(dev)
        log.close()


def run_make(target: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", target],
        cwd=ROOT,
        env=new_user_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_make_reuses_the_environment(tmp_path):
    """A second `make` target must not rebuild `.venv`: seconds, not minutes."""
    started = time.monotonic()
    setup = run_make("setup", tmp_path)
    elapsed = time.monotonic() - started
    assert setup.returncode == 0, setup.stderr[-2000:]
    assert "Would replace" not in setup.stderr, setup.stderr[-2000:]
    assert "Removed virtual environment" not in setup.stderr, setup.stderr[-2000:]
    assert elapsed < 60, f"make setup took {elapsed:.0f} s on an existing environment"


@pytest.mark.parametrize(
    "target", ["demo", "test", "test-unit", "dev", "up", "lint", "bench", "validate", "docs"]
)
def test_every_make_target_sets_up_first(target):
    """Each README target installs what it needs itself (nothing installed by hand)."""
    dry = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert dry.returncode == 0, dry.stderr
    assert "uv sync --frozen" in dry.stdout


def test_make_validate_checks_the_definitions_without_the_deployment_variables(tmp_path):
    """The repository's dagster.yaml is the compose deployment's (Postgres); validating the code
    location must not need its variables."""
    validated = run_make("validate", tmp_path)
    assert validated.returncode == 0, validated.stderr[-3000:]
    assert "All code locations passed validation" in validated.stderr + validated.stdout
