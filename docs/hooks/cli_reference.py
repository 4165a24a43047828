"""The command-line reference: `continual-ml --help` and each subcommand's, as printed.

The help is taken from the `continual-ml` console script's own entry point (the package's
metadata), in this process: each `--help` prints and exits before any command runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from importlib.metadata import entry_points


def help_text(*args: str) -> str:
    (script,) = entry_points(group="console_scripts", name="continual-ml")
    main, printed = script.load(), io.StringIO()
    width, os.environ["COLUMNS"] = os.environ.get("COLUMNS"), "100"
    try:
        with contextlib.redirect_stdout(printed), contextlib.suppress(SystemExit):
            main([*args, "--help"])
    finally:
        if width is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = width
    return printed.getvalue()


def subcommands() -> list[str]:
    """The subcommands `continual-ml --help` lists (its `{a,b,...}` choice)."""
    choice = re.search(r"\{([a-z,-]+)\}", help_text())
    return choice.group(1).split(",") if choice else []


def cli_reference() -> str:
    parts = ["```text", help_text().rstrip(), "```", ""]
    for name in subcommands():
        parts += [f"## `continual-ml {name}`", "", "```text", help_text(name).rstrip(), "```", ""]
    return "\n".join(parts)
