"""Markdown tables of benchmark results: one place that writes the header, the ruler and rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_RULER = {"l": "---", "r": "---:"}


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> str:
    """A GitHub markdown table; `align` has a letter per column: `l` (text) or `r` (figures)."""
    if len(align) != len(header):
        raise ValueError(f"{len(header)} columns but {len(align)} alignments")
    lines = [_line(header), "|" + "|".join(_RULER[a] for a in align) + "|"]
    return "\n".join(lines + [_line(row) for row in rows])


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
