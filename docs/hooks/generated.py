"""MkDocs hook: fills each `<!-- generated: NAME -->` marker with text rendered from the code.

`settings` and `dataset-config` come from the pydantic models, `http-api` from the OpenAPI
document the service serves, `cli` from `continual-ml --help`, `benchmarks` from
`benchmarks/results/*.json`. The OpenAPI document is also published as `openapi.json`.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path

from mkdocs.structure.files import File

HOOKS = Path(__file__).resolve().parent
ROOT = HOOKS.parents[1]
for folder in (HOOKS, ROOT):  # the sibling renderers, and the project for `bento.service`
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import api_reference  # noqa: E402
import benchmark_tables  # noqa: E402
import cli_reference  # noqa: E402
import config_reference  # noqa: E402

MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")


@cache
def openapi() -> dict:
    return api_reference.service_openapi()


RENDERERS = {
    "settings": config_reference.settings_table,
    "dataset-config": config_reference.dataset_config_tables,
    "http-api": lambda: api_reference.api_reference(openapi()),
    "request-limits": api_reference.limits_table,
    "benchmarks": benchmark_tables.benchmarks_page,
    "cli": cli_reference.cli_reference,
}


def render(name: str) -> str:
    if name not in RENDERERS:
        raise KeyError(f"no generated section named {name!r}; known: {sorted(RENDERERS)}")
    return RENDERERS[name]()


def on_page_markdown(markdown: str, page, config, files) -> str:
    return MARKER.sub(lambda match: render(match.group(1)), markdown)


def on_files(files, config):
    files.append(File.generated(config, "openapi.json", content=json.dumps(openapi(), indent=2)))
    return files
