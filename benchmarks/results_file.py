"""A benchmark command's results file: the `--workdir` and `--out` options, and the figures
written with the stamp of the code and machine that measured them (`benchmarks.stamp`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.stamp import stamp


def add_output_arguments(
    parser: argparse.ArgumentParser, out: str | None, out_help: str | None = None
) -> None:
    """`--workdir` (scratch files; default: a temporary folder) and `--out` (the results file)."""
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--out", default=out, help=out_help)


def write_results(path: str | Path, results: dict) -> None:
    """Write `results` to `path` as JSON, under the stamp, creating its folder if need be."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stamp": stamp(), **results}, indent=2))
