"""The documentation site builds in strict mode, and its generated pages hold what the code says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from continual_ml.settings import Settings
from continual_ml_tests.support.builds import built_at_root
from continual_ml_tests.support.docs_pages import RESULTS, hand_written_pages

COMMAND = Path(sys.executable).parent / "continual-ml"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    built = built_at_root(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], env
    )
    assert "WARNING" not in built.stderr, built.stderr[-4000:]
    return out


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text()


def subcommands() -> set[str]:
    shown = subprocess.run([COMMAND, "--help"], capture_output=True, text=True, check=True)
    return set(re.search(r"\{([a-z,-]+)\}", shown.stdout).group(1).split(","))


def test_the_api_page_is_the_services_own_document(site):
    document = json.loads((site / "openapi.json").read_text())
    assert {"/predict", "/predict_batch", "/feedback", "/readyz"} <= set(document["paths"])
    api = page(site, "http-api")
    for path, methods in document["paths"].items():
        for method in methods:
            assert f"{method.upper()} {path}" in api
    for schema in document["components"]["schemas"]:
        assert f'id="{schema.lower()}"' in api


def test_the_configuration_page_lists_every_setting(site):
    configuration = page(site, "configuration")
    for field in Settings.model_fields.values():
        assert field.alias in configuration


def test_the_benchmarks_page_has_every_results_file(site):
    benchmarks = page(site, "benchmarks")
    for path in RESULTS.glob("*.json"):
        assert f'id="{path.stem}"' in benchmarks, path.name


def test_the_cli_page_has_every_subcommand(site):
    cli = page(site, "cli")
    for name in subcommands():
        assert f"continual-ml {name}" in cli


def test_every_continual_ml_command_in_the_docs_exists():
    existing = subcommands()
    for doc in hand_written_pages():
        # as a command: in inline code, or run from the project's environment
        named = set(re.findall(r"(?:`|\.venv/bin/)continual-ml ([a-z][a-z-]+)", doc.read_text()))
        assert named <= existing, (doc.name, named - existing)
