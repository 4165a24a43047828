"""What the docs say of the code is what the code does, where a claim can be read from both."""

import ast
import re
from importlib.metadata import version

import yaml

from continual_ml.decisions.queue_aging import MAX_CONCURRENT_RUNS
from continual_ml.decisions.rerequests import MAX_REQUESTS
from continual_ml.settings import Settings
from continual_ml_tests.support.docs_pages import DOCS, ROOT, config_reference, hand_written_pages

WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
ARCHITECTURE = (DOCS / "architecture.md").read_text()
OPERATIONS = (DOCS / "operations.md").read_text()


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_run_limit_the_docs_give_is_both_instances():
    deployment = yaml.safe_load((ROOT / "dagster.yaml").read_text())["concurrency"]["runs"]
    assert deployment["max_concurrent_runs"] == MAX_CONCURRENT_RUNS  # the local instance's
    runs = WORDS[deployment["max_concurrent_runs"]]
    assert f"{runs} runs at a time" in one_line(ARCHITECTURE)
    lanes = {lane["value"]: lane["limit"] for lane in deployment["tag_concurrency_limits"]}
    for name, limit in lanes.items():
        assert f"{name} lane of {WORDS[limit]} run" in one_line(ARCHITECTURE)


def test_the_requests_a_sensor_makes_for_failed_work():
    said = f"{WORDS[MAX_REQUESTS]} requests in all"
    assert said in one_line(ARCHITECTURE) and said in one_line(OPERATIONS)


def test_what_the_service_imports():
    tree = ast.parse((ROOT / "bento" / "service.py").read_text())
    imported = {
        node.module.split(".")[1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("continual_ml.")
    }
    claim = re.search(r"`bento/service\.py`, imports (.+?) only", one_line(ARCHITECTURE))
    assert claim, "architecture.md says what the service imports"
    assert set(re.findall(r"`(\w+)`", claim.group(1))) == imported


def test_the_duckdb_the_docs_name_is_the_one_installed():
    pinned = re.search(r"pins DuckDB ([\d.]+)", one_line(OPERATIONS)).group(1)
    assert pinned == version("duckdb")


def test_the_configuration_reference_lists_every_setting_and_key():
    table = config_reference.settings_table()
    for field in Settings.model_fields.values():
        assert f"| `{field.alias}` |" in table
        assert field.description, f"{field.alias} has no description for the reference"
    keys = config_reference.dataset_config_tables()
    for key in ("drift_share_threshold", "candidates_days", "event_time_column", "nullable"):
        assert f"| `{key}` |" in keys


def test_every_file_the_docs_name_exists():
    """Paths in inline code (`continual_ml/…`, `docs/…`, a test module) are files of the repo."""
    named = re.compile(r"`([\w][\w./-]*\.(?:py|ya?ml|md|json|toml))`")
    missing = []
    for page in hand_written_pages():
        for name in set(named.findall(page.read_text())):
            if "/" in name:
                found = (ROOT / name).exists() or (ROOT / "continual_ml" / name).exists()
            elif name.endswith(".py"):
                found = any(ROOT.glob(f"[!.]*/**/{name}"))
            else:
                continue  # a file the system writes at run time (champion.json, alerts.jsonl)
            if not found:
                missing.append((page.name, name))
    assert missing == []
