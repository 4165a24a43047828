"""The benchmarks page, rendered from `benchmarks/results/*.json` at build time.

No figure on the page is typed by hand: each table cell is a value of a results file, written
with `benchmark_format.FORMATS`, so a test can tell that every number shown is in its file.
Each file's `stamp` (commit, uv.lock's sha256, machine, date) heads its section; a file
measured before results were stamped says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmark_format import generic, stamp_text
from benchmark_views import VIEWS

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
# The command that wrote each results file (by stem), for files that do not record their own
# `command`, as each benchmark's module docstring says.
COMMANDS = {
    "backfill": "python -m benchmarks.backfill --days 365 --sample 10",
    "backfill_workers": "python -m benchmarks.backfill_workers --days 365 --slots 1 2 "
    "--days-per-run 30",
    "continual_learning": "python -m benchmarks.continual_learning",
    "drift_engine": "python -m benchmarks.drift_engine",
    "gate_error_rates": "python -m benchmarks.gate_error_rates",
    "ingestion": "python -m benchmarks.ingestion",
    "ingestion_backends": "python -m benchmarks.ingestion_backends",
    "promotion": "python -m benchmarks.promotion",
    "recovery": "python -m benchmarks.recovery --trials 10",
    "serving": "python -m benchmarks.serving --duration 10",
    "serving_replicas": "python -m benchmarks.serving_replicas --duration 10",
    "sustained_load_20s_days": "python -m benchmarks.sustained_load --day-seconds 20 --minutes 7",
    "sustained_load_10s_days_1_busy_core": "python -m benchmarks.sustained_load --day-seconds 10 "
    "--minutes 20 --every 15 --busy-cores 1",
    "sustained_load_10s_days_1_busy_core_slots_shared": "python -m benchmarks.sustained_load "
    "--day-seconds 10 --minutes 20 --every 15 --busy-cores 1, before each lane had a slot",
    "sustained_load_10s_days_1_busy_core_logs_with_retrains": "python -m benchmarks.sustained_load "
    "--day-seconds 10 --minutes 20 --every 15 --busy-cores 1, with prediction logs in the lane of "
    "retrains and late labels",
    "sustained_load_10s_days_1_busy_core_run_buffer_1": "python -m benchmarks.sustained_load "
    "--day-seconds 10 --minutes 20 --every 15 --busy-cores 1, with a lane each but a run buffer of "
    "one",
    "user_datasets": "python -m benchmarks.user_datasets",
}


def results_files() -> list[Path]:
    return sorted(RESULTS.glob("*.json"))


def section(path: Path) -> str:
    data = json.loads(path.read_text())
    name = path.stem
    parts = [f"## {name}", f"`benchmarks/results/{path.name}`"]
    if command := data.get("command") or COMMANDS.get(name):
        parts[-1] += f", written by `{command}`."
    parts.append(stamp_text(data.get("stamp")))
    parts += VIEWS.get(name, generic)(data)
    return "\n\n".join(parts) + "\n"


def benchmarks_page() -> str:
    """Every results file's section, in file order."""
    return "\n".join(section(path) for path in results_files())
