"""The command-line reference: `continual-ml --help` and each subcommand's, as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

COMMAND = Path(sys.executable).parent / "continual-ml"


def help_text(*args: str) -> str:
    done = subprocess.run(
        [str(COMMAND), *args, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "100", "PATH": str(COMMAND.parent)},
    )
    return done.stdout


def subcommands() -> list[str]:
    """The subcommands `continual-ml --help` lists (its `{a,b,...}` choice)."""
    choice = re.search(r"\{([a-z,-]+)\}", help_text())
    return choice.group(1).split(",") if choice else []


def cli_reference() -> str:
    names = subcommands()
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda name: help_text(name), names))
    parts = ["```text", help_text().rstrip(), "```", ""]
    for name, text in zip(names, texts, strict=True):
        parts += [f"## `continual-ml {name}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(parts)
