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
import tempfile
from pathlib import Path
from time import perf_counter

from benchmarks.learning.child_replays import (
    new_report,
    replay_arguments,
    replay_one,
    replayed,
    write_report,
)
from benchmarks.learning.regression_datasets import REGRESSION_DATASETS
from benchmarks.learning.regression_tables import markdown, summarise

RESULTS = Path(__file__).parent / "results" / "regression_loop.json"
DEFAULT = tuple(REGRESSION_DATASETS)
LABEL_DELAY = 2  # days


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
    settings = {"datasets": list(names), "days": days, "label_delay_days": label_delay}
    report = new_report("benchmarks.regression_loop", settings)
    started = perf_counter()
    failed = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, result in replayed(
            "benchmarks.regression_loop", names, scratch, label_delay, days
        ):
            if result is None:
                failed.append(name)
                continue
            report["datasets"][name] = {"summary": summarise(result), **result}
            print(markdown(name, report["datasets"][name]["summary"]), flush=True)
            write_report(report, started, output)
    if failed:
        raise SystemExit(f"replays failed: {', '.join(failed)}; the others are in {output}")
    print(f"{report['seconds']:.0f} s; written to {output}", flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    replay_arguments(parser, list(REGRESSION_DATASETS), DEFAULT, LABEL_DELAY)
    args = parser.parse_args()
    if args.one:
        from benchmarks.learning.regression_replay import run_one

        replay_one(args, run_one)
    else:
        run(tuple(args.datasets), args.days, args.label_delay, args.out)


if __name__ == "__main__":
    main()
