"""Consistency checks for the docker-compose deployment files (Docker itself is not run here)."""

import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from continual_ml_tests.support.dagster_yaml import env_references

ROOT = Path(__file__).parents[2]
REPLICAS = ("bento-1", "bento-2")
LONG_RUNNING = {"postgres", "mlflow", "code-server", "webserver", "daemon", *REPLICAS}
DAGSTER_SERVICES = ("code-server", "webserver", "daemon")
POSTGRES_ENV = ("USER", "PASSWORD", "DB", "HOST")
VENV_BIN = Path(sys.executable).parent
# `${VAR}` is filled in by compose from `.env`; `$${VAR}` reaches the container as `${VAR}`.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(:?[-?])?[^}]*\}")
CONTAINER_VARIABLE = re.compile(r"\$\$\{(\w+)(:-[^}]*)?\}")
MOUNT_DEFAULT = re.compile(r"^\$\{\w+:-([^}]+)\}:")


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


def service_env(service: dict) -> set[str]:
    """What a container's environment holds: its `environment` plus `.env` when it reads it."""
    names = set(service.get("environment") or {})
    return names | (env_template() if service.get("env_file") else set())


def test_every_service_has_command_or_image(services):
    assert LONG_RUNNING <= set(services)
    for name, service in services.items():
        assert "command" in service or "image" in service, name


def test_long_running_services_have_healthchecks(services):
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), name


def test_depends_on_waits_for_health_or_completion(services):
    """A server is waited on until healthy, a one-shot init service until it has succeeded."""
    for name, service in services.items():
        for dep, cond in service.get("depends_on", {}).items():
            if services[dep].get("restart") == "no":
                assert cond["condition"] == "service_completed_successfully", (name, dep)
            else:
                assert "healthcheck" in services[dep], (name, dep)
                assert cond["condition"] == "service_healthy", (name, dep)


def test_named_volumes_are_declared():
    compose = load_yaml("docker-compose.yml")
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        assert named_volumes(service) <= declared, name


def test_warehouse_only_on_dagster_side(services):
    for replica in REPLICAS:
        assert "warehouse" not in named_volumes(services[replica])
        assert "CONTINUAL_ML_WAREHOUSE" not in services[replica].get("environment", {})
    for name in DAGSTER_SERVICES:
        assert "warehouse" in named_volumes(services[name]), name


def test_bentoml_store_and_prediction_logs_are_shared(services):
    for volume in ("bentoml_store", "prediction_logs"):
        for replica in REPLICAS:
            assert volume in named_volumes(services[replica])
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
            source = mount_source(vol)
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
    monkeypatch.setenv("DAGSTER_POSTGRES_PORT", "5432")
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    # a run in progress per lane, but one step at a time opens DuckDB: the pool's one slot per
    # step
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 4
    assert config["concurrency"]["pools"] == {
        "default_limit": 1,
        "granularity": "op",
        "op_granularity_run_buffer": 2,
    }
    # a landed day is never stuck behind logs, background work or a render, nor the reverse; a dead
    # step's slot is freed
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == [
        {"key": "continual_ml/lane", "value": "monitoring", "limit": 1},
        {"key": "continual_ml/lane", "value": "logs", "limit": 1},
        {"key": "continual_ml/lane", "value": "background", "limit": 1},
        {"key": "continual_ml/lane", "value": "reports", "limit": 1},
    ]
    assert config["run_monitoring"]["free_slots_after_run_end_seconds"] > 0
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # crashed runs are retried; a refused candidate or a failed validation is not run again
    assert config["run_retries"] == {
        "enabled": True,
        "max_retries": 2,
        "retry_on_asset_or_op_failure": False,
    }
    # queued runs wait out a code server that is restarting instead of failing at once
    assert config["run_coordinator"]["config"]["max_user_code_failure_retries"] > 0
    assert config["run_monitoring"]["enabled"]
    env_template = (ROOT / ".env.example").read_text()
    for key in POSTGRES_ENV:
        assert f"DAGSTER_POSTGRES_{key}=" in env_template


def test_workspace_matches_code_server(services):
    (location,) = load_yaml("workspace.yaml")["load_from"]
    grpc = location["grpc_server"]
    env = services["daemon"]["environment"]
    assert env[grpc["host"]["env"]] == "code-server"
    port = command_flag(services["code-server"], "-p")
    assert env[grpc["port"]["env"]] == port
    assert services["code-server"]["healthcheck"]["test"][-1] == port
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert grpc["location_name"] == pyproject["tool"]["dagster"]["code_location_name"]
    for name in ("webserver", "daemon"):
        mounts = [v.split(":")[1] for v in services[name]["volumes"] if v.startswith("./")]
        assert command_flag(services[name], "-w") in mounts, name


def test_the_bentofile_pins_the_locked_versions():
    from importlib.metadata import version

    packages = load_yaml("bento/bentofile.yaml")["python"]["packages"]
    pins = dict(p.split("#")[0].strip().split("==") for p in packages)
    assert len(pins) == len(packages), packages
    assert pins == {name: version(name) for name in pins}


def test_dagster_files_read_only_variables_the_services_have(services):
    wanted = env_references(load_yaml("dagster.yaml")) | env_references(load_yaml("workspace.yaml"))
    assert {"DAGSTER_POSTGRES_PORT", "DAGSTER_CODE_SERVER_HOST"} <= wanted
    for name in DAGSTER_SERVICES:
        assert wanted <= service_env(services[name]), (name, wanted - service_env(services[name]))


def test_compose_variables_are_defined():
    compose_text = (ROOT / "docker-compose.yml").read_text()
    for name, operator in COMPOSE_VARIABLE.findall(compose_text):
        # `:-`/`-` give a default; `:?` only words the error for a missing variable.
        assert operator.endswith("-") or name in env_template(), name
    compose = load_yaml("docker-compose.yml")
    for name, service in compose["services"].items():
        texts = [yaml.safe_dump(service)]
        texts += [compose["configs"][c["source"]]["content"] for c in service.get("configs", [])]
        for variable, default in CONTAINER_VARIABLE.findall("".join(texts)):
            assert default or variable in service_env(service), (name, variable)


def test_service_commands_exist(services):
    for name, service in services.items():
        if "command" not in service or "build" not in service:
            continue  # another project's image runs its own programs
        argv = service["command"]
        argv = argv.split() if isinstance(argv, str) else argv[-1].split()
        # `sh -c "exec PROGRAM ..."`: the program is the word after `exec`.
        program = argv[argv.index("exec") + 1] if "exec" in argv else argv[0]
        assert (VENV_BIN / program).is_file(), (name, program)
        if service.get("restart") == "no":
            continue  # a one-shot command, not a service to watch
        healthcheck = service["healthcheck"]["test"]
        if healthcheck[0] == "CMD" and healthcheck[1] != "curl":
            assert (VENV_BIN / healthcheck[1]).is_file(), (name, healthcheck)
    assert "curl" in (ROOT / "Dockerfile").read_text()
    module, service_class = command_flag(services["bento-1"], "serve").split(":")
    source = ROOT.joinpath(*module.split(".")).with_suffix(".py").read_text()
    assert f"class {service_class}" in source


def test_the_build_context_leaves_out_the_environment_and_secrets():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".tools", ".git", ".env", ".continual_ml"} <= ignored


def test_the_landing_folder_is_the_checkouts_under_compose(services):
    """The docs' "copy a file into the landing folder" has a host path under compose too."""
    for name in DAGSTER_SERVICES:
        mounts = [v for v in services[name]["volumes"] if v.endswith(":/data/landing")]
        assert mounts == ["./landing:/data/landing"], name
    assert (ROOT / "landing").is_dir()
