"""Where a benchmark's figures came from: the commit, the locked dependencies and the machine.

Every results file under `benchmarks/results/` records `stamp()` so a figure can be traced to
the code and the machine that produced it.

>>> sorted(stamp())
['commit', 'date', 'dirty', 'machine', 'uv_lock_sha256']
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stamp() -> dict:
    """The commit (and whether the tree had uncommitted changes), uv.lock's sha256, the machine
    and the time, as a JSON-ready dict."""
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "uv_lock_sha256": _sha256(ROOT / "uv.lock"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "nproc": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "load_average": [round(load, 2) for load in os.getloadavg()],
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None  # not a git checkout (an sdist, a copied folder): say so rather than fail
    return done.stdout.strip()


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
