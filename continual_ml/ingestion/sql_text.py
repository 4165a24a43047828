"""SQL text shared by the row rules and the landing queries: quoting, aliases, and how checks
combine into the reasons a quarantined row carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from continual_ml.warehouse.sql import identifier, literal

# Quoted values are cut so a reason stays readable when a cell holds a whole paragraph.
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class Check:
    """`rule` names the column and rule ("x3:type"); `failed` and `reason` are SQL."""

    rule: str
    failed: str
    reason: str


def raw_alias(name: str) -> str:
    return identifier(f"{name}__raw")


def value_alias(name: str) -> str:
    return identifier(f"{name}__value")


def shown(sql: str) -> str:
    """SQL for a value in quotes, as reasons show it."""
    return f"'''' || left(CAST({sql} AS VARCHAR), {_SHOWN_CHARS}) || ''''"


def check(rule: str, failed: str, reason: str) -> Check:
    """A check that is not about one column's value (duplicates, unknown ids, ...)."""
    return Check(rule, f"coalesce({failed}, false)", reason)


def any_failed(checks: Sequence[Check]) -> str:
    return " OR ".join(f"({c.failed})" for c in checks) or "false"


def reasons(checks: Sequence[Check]) -> str:
    """SQL text joining the reasons of every check the row fails."""
    parts = ", ".join(f"CASE WHEN {c.failed} THEN {c.reason} END" for c in checks)
    return f"concat_ws('; ', {parts})"


def failed_rules(checks: Sequence[Check]) -> str:
    """SQL list of the rule names the row fails, for counting quarantined rows by rule."""
    parts = ", ".join(f"CASE WHEN {c.failed} THEN {literal(c.rule)} END" for c in checks)
    return f"list_filter([{parts}], lambda rule: rule IS NOT NULL)::VARCHAR[]"


def key_checks(shown_name: str, key: str, table: str) -> tuple[Check, Check]:
    """A key repeated in the file (every copy is refused: which one is right?) or already in
    `table`; they read `__copies` and `__taken`, which the landing query joins in."""
    said = f"{literal(shown_name + ': ')} || {shown(key)}"
    return (
        check(
            f"{shown_name}:duplicate",
            "__copies > 1",
            f"{said} || ' appears ' || __copies || ' times in this file'",
        ),
        check(f"{shown_name}:exists", "__taken", f"{said} || {literal(' is already in ' + table)}"),
    )
