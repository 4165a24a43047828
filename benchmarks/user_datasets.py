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
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from time import perf_counter

from benchmarks.learning.datasets import DATASETS, PUBLIC, STREAMS
from benchmarks.learning.tables import markdown, overview, summarise
from benchmarks.stamp import stamp

RESULTS = Path(__file__).parent / "results" / "user_datasets.json"
DEFAULT = (*PUBLIC, *STREAMS)
LABEL_DELAY = 2  # days, as in issue 25's runs
OWN_ENV = ("CONTINUAL_ML_", "DAGSTER_", "BENTOML_", "MLFLOW_")


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
    stamped = stamp()  # the code that runs: taken before it does
    started = perf_counter()
    report = {
        "stamp": stamped,
        "command": "python -m benchmarks.user_datasets " + " ".join(sys.argv[1:]),
        "settings": {
            "datasets": list(names),
            "days": days,
            "label_delay_days": label_delay,
            "jobs": jobs,
        },
        "datasets": {},
    }
    with tempfile.TemporaryDirectory() as scratch:

        def replayed(name: str) -> str:
            argv = ["--one", name, "--to", scratch, "--label-delay", str(label_delay)]
            argv += ["--days", str(days)] if days else []
            subprocess.run(
                [sys.executable, "-m", "benchmarks.user_datasets", *argv],
                check=True,
                # a fresh home each: nothing of the caller's continual-ml or Dagster settings
                env={k: v for k, v in os.environ.items() if not k.startswith(OWN_ENV)},
            )
            return name

        # Datasets are independent (a home each); `jobs` of them at once, in their own processes.
        failed = []
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {name: pool.submit(replayed, name) for name in names}
            for name, future in futures.items():  # in the given order, as each is done
                try:
                    future.result()
                except subprocess.CalledProcessError as error:  # the others still count
                    failed.append(name)
                    print(f"{name}: the replay failed ({error})", flush=True)
                    continue
                result = json.loads((Path(scratch) / f"{name}.json").read_text())
                report["datasets"][name] = {"summary": summarise(result), **result}
                print(markdown(name, report["datasets"][name]["summary"]), flush=True)
                _write(report, started, output)  # a long run interrupted keeps what it finished
        if failed:
            raise SystemExit(f"replays failed: {', '.join(failed)}; the others are in {output}")
    print(f"\n{report['overview']}\n", flush=True)
    print(f"{report['seconds']:.0f} s; written to {output}", flush=True)
    return report


def _write(report: dict, started: float, output: Path) -> None:
    summaries = {name: result["summary"] for name, result in report["datasets"].items()}
    report["seconds"] = round(perf_counter() - started, 1)
    report["complete"] = len(report["datasets"]) == len(report["settings"]["datasets"])
    report["overview"] = overview(summaries)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str))


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DEFAULT))
    parser.add_argument("--days", type=int, help="replay at most this many days of each")
    parser.add_argument("--label-delay", type=int, default=LABEL_DELAY, help="days")
    parser.add_argument("--out", type=Path, help="the JSON report's path")
    parser.add_argument(
        "--jobs", type=_positive, default=1, help="datasets replayed at once (each a process)"
    )
    parser.add_argument("--one", choices=list(DATASETS), help=argparse.SUPPRESS)
    parser.add_argument("--to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # the child process: one dataset, its raw record to --to
        from benchmarks.learning.replay import run_one

        result = run_one(args.one, Path(args.to) / args.one, args.label_delay, args.days)
        (Path(args.to) / f"{args.one}.json").write_text(json.dumps(result, default=str))
    else:
        run(tuple(args.datasets), args.days, args.label_delay, args.out, args.jobs)


if __name__ == "__main__":
    main()
