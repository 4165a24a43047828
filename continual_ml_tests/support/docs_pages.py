"""The documentation as the tests read it: its pages, their prose, and the renderers in
`docs/hooks/` (build code, imported from their folder as MkDocs does)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HOOKS = DOCS / "hooks"
RESULTS = ROOT / "benchmarks" / "results"
if str(HOOKS) not in sys.path:
    sys.path.insert(0, str(HOOKS))

import benchmark_format  # noqa: E402
import benchmark_tables  # noqa: E402, F401  (for the tests of the benchmarks page)
import config_reference  # noqa: E402, F401  (for the tests of the configuration reference)

# Figures that claim a measurement: a throughput, a latency, a ratio or share, a percentile.
MEASUREMENT = re.compile(
    r"(?<![\w.,])(\d[\d,]*(?:\.\d+)?)\s?(?:k\b)?\s?"
    r"(req/s|rows/s|partitions/hour|runs/hour|ms\b|µs\b|×|%)"
    r"|\bp(?:50|90|95|99)\s*(?:of\s*)?(\d[\d,]*(?:\.\d+)?)"
)
HISTORY = re.compile(
    r"\bissue \d+|\blast round\b|\bthis round\b|\bearlier rounds?\b|\bsession\b"
    r"|\bbefore this change\b|\bprevious run\b",
    re.IGNORECASE,
)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def hand_written_pages() -> list[Path]:
    """README.md and every page under docs/ (generated sections are markers there)."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> str:
    """A page without its code: fenced blocks (commands, program output) and inline code."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def code_blocks(text: str) -> list[str]:
    return [block.strip("`") for block in FENCE.findall(text)]


def numbers_in(value: object) -> Iterator[float]:
    """Every number anywhere in a parsed JSON value."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_in(item)


def renderings(values: list[float]) -> set[str]:
    """Each number as the benchmarks page may write it (every format it uses), no units."""
    written = set()
    for value in values:
        for render in benchmark_format.FORMATS.values():
            written.add(render(value).rstrip("%×"))
    return written


def measured_figures(text: str) -> list[str]:
    """The figures in a page's prose that claim a measurement."""
    found = (match.group(1) or match.group(3) for match in MEASUREMENT.finditer(prose(text)))
    return [figure.rstrip(",") for figure in found]
