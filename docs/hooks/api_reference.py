"""The HTTP API page, from the OpenAPI document the service itself serves at `/docs.json`.

The document is fetched in a child process from the BentoML service's own ASGI app (its public
`to_asgi()`), for the demo's dataset, with a throwaway home and an API token set, so the page
shows the routes exactly as a deployment with a token serves them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FETCH = """
import json, sys
from starlette.testclient import TestClient
from bento.service import ChampionClassifier
with TestClient(ChampionClassifier.to_asgi()) as client:
    response = client.get("/docs.json")
    response.raise_for_status()
    json.dump(response.json(), sys.stdout)
"""


def service_openapi() -> dict:
    """The service's OpenAPI document, as `GET /docs.json` answers it."""
    with tempfile.TemporaryDirectory(prefix="continual-ml-docs-") as home:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CONTINUAL_ML_")},
            "CONTINUAL_ML_HOME": home,
            "BENTOML_HOME": str(Path(home) / "bentoml"),
            "CONTINUAL_ML_API_TOKEN": "token-of-the-docs-build",
            "BENTOML_DO_NOT_TRACK": "true",
        }
        done = subprocess.run(
            [sys.executable, "-c", FETCH], cwd=ROOT, env=env, capture_output=True, text=True
        )
    if done.returncode != 0:
        raise RuntimeError(f"the service's OpenAPI document could not be read:\n{done.stderr}")
    return json.loads(done.stdout)


def _ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def _schema_text(schema: dict) -> str:
    if name := _ref_name(schema):
        return f"[{name}](#{name.lower()})"
    if schema.get("type") == "array":
        items = _schema_text(schema.get("items", {}))
        bounds = [f"{k.split('I')[0]} {schema[k]}" for k in ("minItems", "maxItems") if k in schema]
        return f"array of {items}" + (f" ({', '.join(bounds)})" if bounds else "")
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " \\| ".join(_schema_text(s) for s in schema[key])
    text = schema.get("type", "any")
    if schema.get("nullable"):
        text += " or null"
    limits = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "maxLength") if k in schema]
    return text + (f" ({', '.join(limits)})" if limits else "")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _operation(path: str, method: str, operation: dict) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", "", operation.get("summary", ""), ""]
    if operation.get("security"):
        lines += [
            "Requires `Authorization: Bearer <token>` when `CONTINUAL_ML_API_TOKEN` is set.",
            "",
        ]
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        lines += ["| request body | schema |", "|---|---|"]
        lines += [f"| `{kind}` | {_schema_text(c.get('schema', {}))} |" for kind, c in body.items()]
        lines.append("")
    lines += ["| status | when | body |", "|---|---|---|"]
    for status, response in sorted(operation.get("responses", {}).items()):
        content = response.get("content", {})
        kinds = ", ".join(
            f"`{kind}` {_schema_text(c.get('schema', {}))}".rstrip() for kind, c in content.items()
        )
        lines.append(f"| {status} | {_cell(response.get('description', ''))} | {kinds} |")
    return [*lines, ""]


def _component(name: str, schema: dict) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"{_schema_text(schema)}", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | what |", "|---|---|---|---|"]
    for field, spec in properties.items():
        lines.append(
            f"| `{field}` | {_schema_text(spec)} | {'yes' if field in required else 'no'} "
            f"| {_cell(spec.get('description', ''))} |"
        )
    if schema.get("additionalProperties") is False:
        lines += ["", "No other field is accepted."]
    return [*lines, ""]


def _size(name: str, value: int) -> str:
    if not name.endswith("_bytes"):
        return f"{value:,}"
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return f"{value:,} bytes"


def limits_table() -> str:
    """What one request may carry by default (`serving.request_schema.Limits`)."""
    from continual_ml.serving.request_schema import Limits

    lines = ["| limit | default |", "|---|---|"]
    for field in dataclasses.fields(Limits):
        lines.append(f"| `{field.name}` | {_size(field.name, field.default)} |")
    return "\n".join(lines)


def api_reference(document: dict) -> str:
    """Markdown for every route and schema of an OpenAPI document."""
    info = document.get("info", {})
    lines = [
        f"OpenAPI {document.get('openapi')}, `{info.get('title')}` version {info.get('version')}.",
        "",
    ]
    lines += ["## Routes", ""]
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            lines += _operation(path, method, operation)
    lines += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        lines += _component(name, schema)
    return "\n".join(lines)
