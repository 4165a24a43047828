"""Errors a person reads: the reason in one line on the terminal, the whole story in the home's
CLI log."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime

from continual_ml.config import Paths


class CommandFailed(Exception):
    """A command's reason in one line, and the details for the log."""

    def __init__(self, reason: str, details: str = ""):
        super().__init__(reason)
        self.details = details


def root_cause(error) -> str:
    """The innermost error of a Dagster step failure, in one line, without Dagster's wrapping."""
    while error.cause is not None:
        error = error.cause
    line = error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name
    prefix = f"{error.cls_name}: "
    return line.removeprefix(prefix)


def one_line(error: BaseException) -> str:
    """What went wrong, for a person: pydantic's errors as `field: message`, one line."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
    text = " ".join(str(error).split())
    return text or type(error).__name__


def log_failure(paths: Paths, command: str, error: BaseException) -> str:
    """Append the full story to the home's CLI log; the path, for the one-line message."""
    path = paths.home / "logs" / "cli.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as log:
            log.write(f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} continual-ml {command}\n")
            log.write("".join(traceback.format_exception(error)))
            log.write(getattr(error, "details", "") + "\n")
    except OSError:
        return "no log: the home is not writable"
    return str(path)
