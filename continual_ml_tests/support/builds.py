"""Build commands the integration tests run at the repository's root: the Bento, the docs site."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def built_at_root(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a build command at the repository's root; fail the test with the end of its stderr."""
    built = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-4000:]
    return built
