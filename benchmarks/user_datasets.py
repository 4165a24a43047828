"""Does the loop learn as fast as the data allows? Public datasets and drift streams, run as a
new user would, the loop beside three strategies in one run (`benchmarks.learning`).

Each dataset runs in a child process of its own, in a fresh home (`benchmarks.learning.replay`):
`init --from`, `ingest`, `bootstrap`, then each later day is predicted by every strategy,
lands without labels, and its labels land `--label-delay` days later; the sensors decide and
their runs execute. Prints a table per dataset and an overview, and writes JSON (stamped with
`benchmarks.stamp`) to `benchmarks/results/user_datasets.json`, or for a partial run (some
datasets, `--days`) to `user_datasets_partial.json` unless `--out` says otherwise.

    python -m benchmarks.user_datasets                                  # the full run
    python -m benchmarks.user_datasets --datasets book sea_abrupt --days 6   # a quick one
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
from benchmarks.learning.datasets import DATASETS, PUBLIC, STREAMS
from benchmarks.learning.tables import markdown, overview, summarise

RESULTS = Path(__file__).parent / "results" / "user_datasets.json"
DEFAULT = (*PUBLIC, *STREAMS)
LABEL_DELAY = 2  # days, as in issue 25's runs


def run(
    names=DEFAULT,
    days: int | None = None,
    label_delay: int = LABEL_DELAY,
    output: Path | None = None,
    jobs: int = 1,
) -> dict:
    """Each dataset in a child process, `jobs` at once; the JSON report, also written to
    `output`. Accuracies do not depend on `jobs`; the seconds do."""
    if output is None:
        full = tuple(names) == DEFAULT and days is None and label_delay == LABEL_DELAY
        output = RESULTS if full else RESULTS.with_name("user_datasets_partial.json")
    settings = {"datasets": list(names), "days": days, "label_delay_days": label_delay}
    report = new_report("benchmarks.user_datasets", {**settings, "jobs": jobs})
    started = perf_counter()
    failed = []
    with tempfile.TemporaryDirectory() as scratch:
        records = replayed("benchmarks.user_datasets", names, scratch, label_delay, days, jobs)
        for name, result in records:
            if result is None:
                failed.append(name)
                continue
            report["datasets"][name] = {"summary": summarise(result), **result}
            print(markdown(name, report["datasets"][name]["summary"]), flush=True)
            summaries = {n: r["summary"] for n, r in report["datasets"].items()}
            report["overview"] = overview(summaries)
            write_report(report, started, output)
    if failed:
        raise SystemExit(f"replays failed: {', '.join(failed)}; the others are in {output}")
    print(f"\n{report['overview']}\n", flush=True)
    print(f"{report['seconds']:.0f} s; written to {output}", flush=True)
    return report


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    replay_arguments(parser, list(DATASETS), DEFAULT, LABEL_DELAY)
    parser.add_argument(
        "--jobs", type=_positive, default=1, help="datasets replayed at once (each a process)"
    )
    args = parser.parse_args()
    if args.one:
        from benchmarks.learning.replay import run_one

        replay_one(args, run_one)
    else:
        run(tuple(args.datasets), args.days, args.label_delay, args.out, args.jobs)


if __name__ == "__main__":
    main()
