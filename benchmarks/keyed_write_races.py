"""The keyed-write races on each backend, as figures: runs
`continual_ml_tests/integration/test_keyed_write_races.py` (two writer processes, 20 rounds per
backend, on the DuckDB file and on DuckLake on a loopback S3 store) and writes the per-backend
counts of keys, files and row ids left twice to `benchmarks/results/keyed_write_races.json`.

    python -m benchmarks.keyed_write_races
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.stamp import stamp

ROOT = Path(__file__).resolve().parent.parent
TESTS = "continual_ml_tests/integration/test_keyed_write_races.py"
RESULTS = ROOT / "benchmarks" / "results" / "keyed_write_races.json"


def figures(output: str) -> tuple[list[dict], dict[str, float]]:
    """The JSON line each test prints, and each test's seconds, from pytest's output."""
    lines = [json.loads(line.lstrip(".")) for line in output.splitlines() if '{"backend"' in line]
    seconds = {m[1]: float(m[0]) for m in re.findall(r"([\d.]+)s call\s+\S+::(\S+)", output)}
    return lines, seconds


def main() -> None:
    argv = [sys.executable, "-m", "pytest", TESTS, "-q", "-s", "-p", "no:cacheprovider"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [*argv, "--durations=4"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    results, seconds = figures(run.stdout)
    out = {"stamp": stamp(), "tests_passed": run.returncode == 0, "results": results}
    RESULTS.write_text(json.dumps(out | {"test_seconds": seconds}, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
