"""The `continual-ml` command line."""

from __future__ import annotations

import argparse
import sys

from continual_ml.config import Paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="continual-ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="play the drift scenario through the whole loop")
    demo.add_argument(
        "--days", type=int, default=None, help="simulated days (default: drift day + 6)"
    )
    commands.add_parser("init", help="prepare the local home (DuckDB, MLflow, BentoML, Dagster)")
    commands.add_parser("dagster-dev", help="open the Dagster UI on the local home")
    args = parser.parse_args(argv)

    paths = Paths.from_env()
    if args.command == "demo":
        from continual_ml.demo import run_demo

        run_demo(paths, n_days=args.days)
    elif args.command == "init":
        from continual_ml.local_home import prepare

        prepare(paths)
        print(f"continual-ml home ready at {paths.home}")
    elif args.command == "dagster-dev":
        import os

        from continual_ml.local_home import prepare

        prepare(paths)  # exports DAGSTER_HOME and friends for the process it becomes
        os.execvp("dagster", ["dagster", "dev", "-m", "continual_ml.definitions"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
