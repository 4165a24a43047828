"""Consistency checks for the docker-compose deployment files (Docker itself is not run here)."""

import os
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

ROOT = Path(__file__).parents[1]
LONG_RUNNING = {"postgres", "mlflow", "code-server", "webserver", "daemon", "bento"}
DAGSTER_SERVICES = ("code-server", "webserver", "daemon")
POSTGRES_ENV = ("USER", "PASSWORD", "DB", "HOST")


def load_yaml(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.fixture(scope="module")
def services() -> dict:
    return load_yaml("docker-compose.yml")["services"]


def named_volumes(service: dict) -> set[str]:
    names = set()
    for vol in service.get("volumes", []):
        source = vol.get("source", "") if isinstance(vol, dict) else vol.split(":")[0]
        if source and not source.startswith((".", "/", "~")):
            names.add(source)
    return names


def command_flag(service: dict, flag: str) -> str:
    argv = service["command"].split()
    return argv[argv.index(flag) + 1]


def test_every_service_has_command_or_image(services):
    assert LONG_RUNNING <= set(services)
    for name, service in services.items():
        assert "command" in service or "image" in service, name


def test_long_running_services_have_healthchecks(services):
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), name


def test_depends_on_waits_for_health(services):
    for name, service in services.items():
        for dep, cond in service.get("depends_on", {}).items():
            assert "healthcheck" in services[dep], (name, dep)
            assert cond["condition"] == "service_healthy", (name, dep)


def test_named_volumes_are_declared():
    compose = load_yaml("docker-compose.yml")
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        assert named_volumes(service) <= declared, name


def test_warehouse_only_on_dagster_side(services):
    assert "warehouse" not in named_volumes(services["bento"])
    assert "CONTINUAL_ML_WAREHOUSE" not in services["bento"].get("environment", {})
    for name in DAGSTER_SERVICES:
        assert "warehouse" in named_volumes(services[name]), name


def test_bentoml_store_and_prediction_logs_are_shared(services):
    for volume in ("bentoml_store", "prediction_logs"):
        assert volume in named_volumes(services["bento"])
        assert volume in named_volumes(services["daemon"])


def test_referenced_files_exist(services):
    for name, service in services.items():
        build = service.get("build")
        if isinstance(build, dict):
            context = ROOT / build.get("context", ".")
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path = env_file["path"] if isinstance(env_file, dict) else env_file
            # `.env` holds secrets and is not in the repo; its template is.
            assert (ROOT / f"{path}.example").is_file(), (name, path)
        for vol in service.get("volumes", []):
            source = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
            if source.startswith("."):
                assert (ROOT / source).exists(), (name, source)
    for name in ("Dockerfile", "dagster.yaml", "workspace.yaml", ".env.example"):
        assert (ROOT / name).is_file(), name


def test_code_server_module_exists_on_disk(services):
    module = command_flag(services["code-server"], "-m")
    path = ROOT.joinpath(*module.split("."))
    assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), module
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["dagster"]["module_name"] == module


def test_dagster_yaml_validates(tmp_path, monkeypatch):
    for key in POSTGRES_ENV:
        monkeypatch.setenv(f"DAGSTER_POSTGRES_{key}", f"dummy-{key.lower()}")
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 1
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    env_template = (ROOT / ".env.example").read_text()
    for key in POSTGRES_ENV:
        assert f"DAGSTER_POSTGRES_{key}=" in env_template


def test_workspace_matches_code_server(services):
    (location,) = load_yaml("workspace.yaml")["load_from"]
    grpc = location["grpc_server"]
    assert grpc["host"] == "code-server"
    assert grpc["port"] == int(command_flag(services["code-server"], "-p"))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert grpc["location_name"] == pyproject["tool"]["dagster"]["code_location_name"]
    for name in ("webserver", "daemon"):
        mounts = [v.split(":")[1] for v in services[name]["volumes"] if v.startswith("./")]
        assert command_flag(services[name], "-w") in mounts, name


def test_the_bentofile_builds_a_bento(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "BENTOML_HOME": str(tmp_path), "BENTOML_DO_NOT_TRACK": "true"}
    built = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "-f", "bento/bentofile.yaml", "."],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [bento] = list((tmp_path / "bentos" / "continual_ml").glob("*/bento.yaml"))
    assert "bento.service:ChampionClassifier" in bento.read_text()
    assert (bento.parent / "src" / "continual_ml" / "serving.py").exists()
