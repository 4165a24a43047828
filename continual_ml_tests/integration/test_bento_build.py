"""Consistency checks for the docker-compose deployment files (Docker itself is not run here)."""

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
LONG_RUNNING = {"postgres", "mlflow", "code-server", "webserver", "daemon", "bento"}
DAGSTER_SERVICES = ("code-server", "webserver", "daemon")
POSTGRES_ENV = ("USER", "PASSWORD", "DB", "HOST")
VENV_BIN = Path(sys.executable).parent
# `${VAR}` is filled in by compose from `.env`; `$${VAR}` reaches the container as `${VAR}`.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(:?[-?])?[^}]*\}")
CONTAINER_VARIABLE = re.compile(r"\$\$\{(\w+)(:-[^}]*)?\}")
MOUNT_DEFAULT = re.compile(r"^\$\{\w+:-([^}]+)\}:")
SCALE_OUT = {"object-store", "worker", "pool-limits"}


def load_yaml(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.fixture(scope="module")
def services() -> dict:
    return load_yaml("docker-compose.yml")["services"]


def mount_source(volume) -> str:
    """A mount's source; `${VAR:-./default}` (chosen in `.env`) as its default."""
    if isinstance(volume, dict):
        return volume.get("source", "")
    default = MOUNT_DEFAULT.match(volume)
    return default.group(1) if default else volume.split(":")[0]


def named_volumes(service: dict) -> set[str]:
    names = set()
    for vol in service.get("volumes", []):
        source = mount_source(vol)
        if source and not source.startswith((".", "/", "~")):
            names.add(source)
    return names


def command_flag(service: dict, flag: str) -> str:
    argv = service["command"].split()
    return argv[argv.index(flag) + 1]


def env_template() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}


def env_references(node) -> set[str]:
    """The variables a Dagster YAML file reads with `{env: NAME}`."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(env_references(value) for value in node))
    return set()


def service_env(service: dict) -> set[str]:
    """What a container's environment holds: its `environment` plus `.env` when it reads it."""
    names = set(service.get("environment") or {})
    return names | (env_template() if service.get("env_file") else set())


def test_the_bentofile_builds_a_bento(tmp_path):
    import subprocess

    # A new user's PATH: no `uv` on it, so BentoML must find the one the project installs.
    env = {
        **os.environ,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "BENTOML_HOME": str(tmp_path),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    built = subprocess.run(
        [str(VENV_BIN / "bentoml"), "build", "-f", "bento/bentofile.yaml", "."],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [bento] = list((tmp_path / "bentos" / "continual_ml").glob("*/bento.yaml"))
    assert "bento.service:ChampionClassifier" in bento.read_text()
    shipped = bento.parent / "src" / "continual_ml"
    assert (shipped / "serving" / "follower.py").exists()
    # Only what serving needs: no Dagster wiring, no commands, no warehouse.
    assert not any((shipped / name).exists() for name in ("defs", "app", "warehouse"))
