"""Numeric targets through the loop: regression datasets run as a new user would (issue 29),
the loop beside a static model and retraining every day, scored prequentially.

Each dataset of `benchmarks.learning.regression_datasets` runs in a child process of its own,
in a fresh home (`benchmarks.learning.regression_replay`): `init --from` (checked to draft
`task: regression`), `ingest`, `bootstrap`, then each later day is predicted by every strategy,
lands without labels, and its labels land `--label-delay` days later; the sensors decide and
their runs execute. Prints a table per dataset (MAE and RMSE per strategy, the loop's retrains
and their causes, the estimate of the error before labels against the realized error, the
conformal interval's coverage) and writes JSON stamped with `benchmarks.stamp` to
`benchmarks/results/regression_loop.json`, or for a partial run to
`regression_loop_partial.json` unless `--out` says otherwise.

    flock /tmp/cpu.lock python -m benchmarks.regression_loop                # the full run
    python -m benchmarks.regression_loop --datasets friedman_shift --days 16  # a quick one
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter

from benchmarks.learning.regression_datasets import REGRESSION_DATASETS
from benchmarks.learning.regression_tables import markdown, summarise
from benchmarks.stamp import stamp

RESULTS = Path(__file__).parent / "results" / "regression_loop.json"
DEFAULT = tuple(REGRESSION_DATASETS)
LABEL_DELAY = 2  # days
OWN_ENV = ("CONTINUAL_ML_", "DAGSTER_", "BENTOML_", "MLFLOW_")


def run(
    names=DEFAULT,
    days: int | None = None,
    label_delay: int = LABEL_DELAY,
    output: Path | None = None,
) -> dict:
    """Each dataset in a child process; the JSON report, also written to `output`."""
    if output is None:
        full = tuple(names) == DEFAULT and days is None and label_delay == LABEL_DELAY
        output = RESULTS if full else RESULTS.with_name("regression_loop_partial.json")
    started = perf_counter()
    report = {
        "stamp": stamp(),  # the code that runs: taken before it does
        "command": "python -m benchmarks.regression_loop " + " ".join(sys.argv[1:]),
        "settings": {"datasets": list(names), "days": days, "label_delay_days": label_delay},
        "datasets": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            argv = ["--one", name, "--to", scratch, "--label-delay", str(label_delay)]
            argv += ["--days", str(days)] if days else []
            subprocess.run(
                [sys.executable, "-m", "benchmarks.regression_loop", *argv],
                check=True,
                # a fresh home each: nothing of the caller's continual-ml or Dagster settings
                env={k: v for k, v in os.environ.items() if not k.startswith(OWN_ENV)},
            )
            result = json.loads((Path(scratch) / f"{name}.json").read_text())
            report["datasets"][name] = {"summary": summarise(result), **result}
            print(markdown(name, report["datasets"][name]["summary"]), flush=True)
            _write(report, started, output)  # a long run interrupted keeps what it finished
    print(f"{report['seconds']:.0f} s; written to {output}", flush=True)
    return report


def _write(report: dict, started: float, output: Path) -> None:
    report["seconds"] = round(perf_counter() - started, 1)
    report["complete"] = len(report["datasets"]) == len(report["settings"]["datasets"])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = list(REGRESSION_DATASETS)
    parser.add_argument("--datasets", nargs="+", choices=names, default=names)
    parser.add_argument("--days", type=int, help="replay at most this many days of each")
    parser.add_argument("--label-delay", type=int, default=LABEL_DELAY, help="days")
    parser.add_argument("--out", type=Path, help="the JSON report's path")
    parser.add_argument("--one", choices=names, help=argparse.SUPPRESS)
    parser.add_argument("--to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # the child process: one dataset, its raw record to --to
        from benchmarks.learning.regression_replay import run_one

        result = run_one(args.one, Path(args.to) / args.one, args.label_delay, args.days)
        (Path(args.to) / f"{args.one}.json").write_text(json.dumps(result, default=str))
    else:
        run(tuple(args.datasets), args.days, args.label_delay, args.out)


if __name__ == "__main__":
    main()
