"""Row rules as SQL: every configured column becomes a typed value plus the checks it must pass.

Nothing here reads data. Each builder takes the SQL of a raw value as read from a file (and,
for timestamps, its DuckDB type) and returns a `Column`: the expression that converts it (with
`TRY_CAST`, so a bad value becomes NULL instead of an error) and the `Check`s a row must pass.
A check is a boolean SQL expression that is true when the row breaks the rule, never NULL, with
a reason that names the column and quotes the offending value: ``x3: 'abc' is not a number``.

Checks refer to a column's raw and typed values through the aliases `raw_alias(name)` and
`value_alias(name)`, which the query that uses them selects in an inner query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from continual_ml.config import DatasetConfig, FeatureSpec
from continual_ml.ingestion.sql_text import (
    Check,
    literal,
    raw_alias,
    shown,
    value_alias,
)

_INTEGER_TYPES = frozenset(
    "TINYINT SMALLINT INTEGER BIGINT HUGEINT UTINYINT USMALLINT UINTEGER UBIGINT UHUGEINT".split()
)
_NUMBER_TYPES = _INTEGER_TYPES | {"FLOAT", "DOUBLE"}
_NAIVE_TIME_TYPES = frozenset(["TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE"])
_ZONED_TIME_TYPE = "TIMESTAMP WITH TIME ZONE"


@dataclass(frozen=True)
class Column:
    """A target column: SQL for its raw value, for its typed value, and its checks."""

    name: str
    raw: str
    value: str
    checks: tuple[Check, ...]


def _is_number(source_type: str) -> bool:
    return source_type in _NUMBER_TYPES or source_type.startswith("DECIMAL")


def accepts(kind: str, source_type: str) -> bool:
    """Whether a column of `source_type` can hold values of `kind` at all (else: a schema error)."""
    text_like = source_type == "VARCHAR" or source_type == '"NULL"'
    if kind == "number":
        return text_like or _is_number(source_type)
    if kind in ("category", "class"):
        return text_like or source_type.startswith("ENUM") or _is_number(source_type)
    if kind == "boolean":
        return text_like or source_type == "BOOLEAN"
    if kind == "timestamp":
        return text_like or source_type in _NAIVE_TIME_TYPES or source_type == _ZONED_TIME_TYPE
    if kind == "identifier":
        return text_like or _is_number(source_type) or source_type == "UUID"
    raise ValueError(f"unknown value kind {kind!r}")


def _column(name: str, shown_name: str, raw: str, value: str, checks: Iterable) -> Column:
    # coalesce: a check on a NULL value must say "passed", never NULL (the missing-value check
    # is the one that speaks about NULLs)
    return Column(
        name=name,
        raw=raw,
        value=value,
        checks=tuple(
            Check(f"{shown_name}:{rule}", f"coalesce({failed}, false)", reason)
            for rule, failed, reason in checks
        ),
    )


def _prefix(shown_name: str) -> str:
    return literal(shown_name + ": ")


def _unparsed(name: str, shown_name: str, what: str) -> tuple[str, str, str]:
    raw, value = raw_alias(name), value_alias(name)
    return (
        "type",
        f"{raw} IS NOT NULL AND {value} IS NULL",
        f"{_prefix(shown_name)} || {shown(raw)} || {literal(' is not ' + what)}",
    )


def _missing(name: str, shown_name: str, nullable: bool) -> list[tuple[str, str, str]]:
    if nullable:
        return []
    return [("missing", f"{raw_alias(name)} IS NULL", literal(f"{shown_name}: missing value"))]


def number(
    name: str,
    raw: str,
    *,
    shown_name: str | None = None,
    nullable: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Column:
    """A finite DOUBLE, optionally within [minimum, maximum]."""
    shown_name = shown_name or name
    value = value_alias(name)
    checks = [_unparsed(name, shown_name, "a number"), *_missing(name, shown_name, nullable)]
    checks.append(
        (
            "finite",
            f"NOT isfinite({value})",
            f"{_prefix(shown_name)} || {shown(raw_alias(name))} || ' is not a finite number'",
        )
    )
    bounds = (
        ("min", minimum, "<", "below the minimum"),
        ("max", maximum, ">", "above the maximum"),
    )
    for rule, bound, operator, words in bounds:
        if bound is not None:
            checks.append(
                (
                    rule,
                    f"isfinite({value}) AND {value} {operator} {float(bound)!r}",
                    f"{_prefix(shown_name)} || {shown(raw_alias(name))} || "
                    + literal(f" is {words} {bound:g}"),
                )
            )
    return _column(name, shown_name, raw, f"TRY_CAST({raw} AS DOUBLE)", checks)


def class_label(
    name: str,
    raw: str,
    classes: Sequence[int | str],
    *,
    shown_name: str | None = None,
    nullable: bool,
    source_type: str = "VARCHAR",
) -> Column:
    """One of the configured classes: integers as BIGINT, text labels as VARCHAR.

    Integer classes read text and floats through DOUBLE so that 1.0 counts as class 1 while 0.5
    is refused (a cast straight to an integer would round it); integers are compared as they
    are. Text classes are compared exactly, as categories are (case and spaces count).
    """
    shown_name = shown_name or name
    if isinstance(classes[0], str):
        class_list = ", ".join(str(c) for c in classes)
        text = f"CAST({raw} AS VARCHAR)"
        value = f"CASE WHEN {text} IN ({', '.join(literal(c) for c in classes)}) THEN {text} END"
    else:
        class_list = ", ".join(str(int(c)) for c in classes)
        number = raw if source_type in _INTEGER_TYPES else f"TRY_CAST({raw} AS DOUBLE)"
        value = f"CASE WHEN {number} IN ({class_list}) THEN CAST({number} AS BIGINT) END"
    checks = [
        (
            "class",
            f"{raw_alias(name)} IS NOT NULL AND {value_alias(name)} IS NULL",
            f"{_prefix(shown_name)} || {shown(raw_alias(name))} "
            f"|| {literal(f' is not one of the classes {class_list}')}",
        ),
        *_missing(name, shown_name, nullable),
    ]
    return _column(name, shown_name, raw, value, checks)


def label(
    config: DatasetConfig,
    name: str,
    raw: str,
    *,
    shown_name: str | None = None,
    nullable: bool,
    source_type: str = "VARCHAR",
) -> Column:
    """The label: one of the classes, or for `task: regression` a finite number."""
    if config.regression:
        return number(name, raw, shown_name=shown_name, nullable=nullable)
    return class_label(
        name, raw, config.classes, shown_name=shown_name, nullable=nullable, source_type=source_type
    )


def label_kind(config: DatasetConfig) -> str:
    """The value kind `accepts` checks the label column's type against."""
    return "number" if config.regression else "class"


def category(
    name: str,
    raw: str,
    categories: Sequence[str],
    *,
    shown_name: str | None = None,
    nullable: bool = False,
) -> Column:
    """One of the configured categories, compared exactly (case and spaces count)."""
    shown_name = shown_name or name
    value = value_alias(name)
    allowed = ", ".join(literal(c) for c in categories)
    checks = [
        *_missing(name, shown_name, nullable),
        (
            "category",
            f"{value} NOT IN ({allowed})",
            f"{_prefix(shown_name)} || 'unknown category ' || {shown(value)}",
        ),
    ]
    return _column(name, shown_name, raw, f"CAST({raw} AS VARCHAR)", checks)


def boolean(
    name: str, raw: str, *, shown_name: str | None = None, nullable: bool = False
) -> Column:
    """A BOOLEAN from true/false (DuckDB also reads t/f, yes/no, y/n, 1/0)."""
    shown_name = shown_name or name
    checks = [_unparsed(name, shown_name, "a boolean"), *_missing(name, shown_name, nullable)]
    return _column(name, shown_name, raw, f"TRY_CAST({raw} AS BOOLEAN)", checks)


def timestamp(
    name: str, raw: str, source_type: str, *, shown_name: str | None = None, nullable: bool = False
) -> Column:
    """A UTC timestamp without zone: zoned inputs are converted, naive ones are taken as UTC.

    Text is parsed as TIMESTAMPTZ so that an offset such as +02:00 is applied rather than
    dropped; the query must run with the session time zone set to UTC for naive text to stay
    as written.
    """
    shown_name = shown_name or name
    if source_type in _NAIVE_TIME_TYPES:
        value = f"CAST({raw} AS TIMESTAMP)"
    elif source_type == _ZONED_TIME_TYPE:
        value = f"timezone('UTC', {raw})"
    else:
        value = f"timezone('UTC', TRY_CAST({raw} AS TIMESTAMPTZ))"
    checks = [_unparsed(name, shown_name, "a timestamp"), *_missing(name, shown_name, nullable)]
    return _column(name, shown_name, raw, value, checks)


def row_identifier(name: str, raw: str, *, shown_name: str | None = None) -> Column:
    """A non-empty identifier, kept as text."""
    shown_name = shown_name or name
    value = f"CAST({raw} AS VARCHAR)"
    id_ = value_alias(name)
    # trim() builds a new string per row; only text below '!' (empty, or starting with
    # whitespace) can be blank, so the cheap comparison spares nearly every row the trim
    checks = [
        (
            "missing",
            f"{id_} IS NULL OR ({id_} < '!' AND trim({id_}) = '')",
            literal(f"{shown_name}: missing id"),
        )
    ]
    return _column(name, shown_name, raw, value, checks)


def feature(spec: FeatureSpec, raw: str) -> Column:
    """The column for one configured feature."""
    if spec.kind == "numeric":
        return number(spec.name, raw, nullable=spec.nullable, minimum=spec.min, maximum=spec.max)
    if spec.kind == "categorical":
        return category(spec.name, raw, spec.categories, nullable=spec.nullable)
    return boolean(spec.name, raw, nullable=spec.nullable)


def feature_kind(spec: FeatureSpec) -> str:
    """The value kind `accepts` checks a feature's column type against."""
    return {"numeric": "number", "categorical": "category", "boolean": "boolean"}[spec.kind]


def schema_problem(types: dict[str, str], required: dict[str, str], optional: dict[str, str]):
    """Why a file's columns cannot hold its rows at all (missing, or of a type that cannot
    hold the value kind `accepts` names), or None. Maps are column name -> value kind."""
    missing = [name for name in required if name not in types]
    if missing:
        found = ", ".join(list(types)[:20]) + (", ..." if len(types) > 20 else "")
        hint = ""
        if len(types) == 1 and any(sep in next(iter(types)) for sep in ";\t|"):
            hint = " (one column only: is the file delimited by something other than ','?)"
        return f"missing required columns {', '.join(missing)}; the file has {found}{hint}"
    wrong = [
        f"{name} is {types[name]}, which cannot hold a {kind}"
        for name, kind in {**optional, **required}.items()
        if name in types and not accepts(kind, types[name])
    ]
    return "; ".join(wrong) or None
