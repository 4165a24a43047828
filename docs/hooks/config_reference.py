"""The configuration reference, from the code: `Settings` (the environment) and `DatasetConfig`."""

from __future__ import annotations

import types
import typing
from datetime import date
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from continual_ml.config import DatasetConfig
from continual_ml.settings import Settings


def _type(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type(a) for a in args)
    if origin is tuple:
        return f"list of {_type(args[0])}" if args else "list"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    names = {
        str: "text",
        int: "integer",
        float: "number",
        bool: "boolean",
        Path: "path",
        date: "date",
        SecretStr: "secret",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is None or value is PydanticUndefined:
        return "unset"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, tuple):
        return f"`{list(value)}`" if value else "`[]`"
    return f"`{value}`"


def _limits(field: FieldInfo) -> str:
    bounds = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    said = []
    for rule in field.metadata:
        for name, sign in bounds.items():
            if getattr(rule, name, None) is not None:
                said.append(f"{sign} {getattr(rule, name)}")
        if getattr(rule, "pattern", None):
            said.append(f"matches `{rule.pattern}`")
    return ", ".join(said)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """Every environment variable `Settings` reads, with its type, default and meaning."""
    lines = ["| variable | type | default | what |", "|---|---|---|---|"]
    for field in Settings.model_fields.values():
        what = _cell(field.description or "")
        if limits := _limits(field):
            what += f" ({limits})"
        lines.append(
            f"| `{field.alias}` | {_type(field.annotation)} | {_default(field)} | {what} |"
        )
    return "\n".join(lines)


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found += [m for m in _models(candidate) if m not in found]
    return found


def dataset_config_tables() -> str:
    """The dataset YAML's keys, one table per section, from `DatasetConfig` and its parts."""
    parts = []
    for model in _models(DatasetConfig):
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        parts += [f"### {model.__name__}", "", doc, ""] if doc else [f"### {model.__name__}", ""]
        parts += ["| key | type | default | limits | what |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            parts.append(
                f"| `{name}` | {_type(field.annotation)} | {_default(field)} | {_limits(field)} "
                f"| {_cell(field.description or '')} |"
            )
        parts.append("")
    return "\n".join(parts)
