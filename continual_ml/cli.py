"""The `continual-ml` command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from continual_ml.config import Paths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="continual-ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="play the drift scenario through the whole loop")
    demo.add_argument("--days", type=int, default=None, help="simulated days (default: drift+6)")
    up = commands.add_parser(
        "up", help="run the live system: Dagster webserver and daemon, MLflow UI, BentoML service"
    )
    up.add_argument("--traffic", action="store_true", help="also play the stream to the service")
    up.add_argument("--days", type=int, default=None, help="days of traffic (default: endless)")
    up.add_argument("--day-seconds", type=float, default=30.0, help="real seconds per day")
    up.add_argument("--dagster-port", type=int, default=3000)
    up.add_argument("--mlflow-port", type=int, default=5000)
    up.add_argument("--service-port", type=int, default=3001)
    commands.add_parser("status", help="the champion, latest drift and performance, runs, alerts")
    commands.add_parser("init", help="prepare the local home (DuckDB, MLflow, BentoML, Dagster)")
    commands.add_parser("dagster-dev", help="open the Dagster UI on the local home")
    ingest = commands.add_parser("ingest", help="ingest a CSV/Parquet file or a folder of them")
    ingest.add_argument("path")
    ingest.add_argument(
        "--kind", choices=["observations", "labels", "prediction_log"], default="observations"
    )
    score = commands.add_parser(
        "score", help="score a CSV/Parquet file with the running service, one row at a time"
    )
    score.add_argument("path")
    score.add_argument("--url", default=None, help="the service (default http://127.0.0.1:3001)")
    score.add_argument("--output", default=None, help="where to write (default <name>.scored.csv)")
    rollback = commands.add_parser("rollback", help="restore the previous (or a given) champion")
    rollback.add_argument("version", type=int, nargs="?", default=None)
    for name, text in (
        ("approve", "promote a candidate waiting for approval"),
        ("reject", "reject a candidate waiting for approval"),
    ):
        decision = commands.add_parser(name, help=text)
        decision.add_argument("version", type=int)
    return parser


def run_job_in_process(paths: Paths, job, op_name: str, op_config: dict):
    """Run a job in this process against the local instance, so the UI shows it."""
    import dagster as dg

    from continual_ml.defs.resources import build_resources

    result = job.execute_in_process(
        run_config={"ops": {op_name: {"config": op_config}}},
        resources=build_resources(paths),
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
    )
    if not result.success:
        failure = next(e for e in result.all_events if e.is_step_failure)
        raise SystemExit(f"{job.name} failed: {failure.step_failure_data.error.message.strip()}")
    return result.output_for_node(op_name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = Paths.from_env()
    if args.command == "demo":
        from continual_ml.demo import run_demo

        run_demo(paths, n_days=args.days)
        return 0
    if args.command == "score":
        from continual_ml.file_scoring import score_with_service

        print(score_with_service(args.path, args.url, args.output))
        return 0

    from continual_ml.local_home import prepare

    prepare(paths)  # exports DAGSTER_HOME and friends for this process and what it becomes
    if args.command == "init":
        print(f"continual-ml home ready at {paths.home}")
    elif args.command == "up":
        from continual_ml.live import Ports
        from continual_ml.live_mode import run_up

        ports = Ports(args.dagster_port, args.mlflow_port, args.service_port)
        return run_up(paths, ports, args.traffic, args.days, args.day_seconds)
    elif args.command == "status":
        from continual_ml.status import status_lines

        print("\n".join(status_lines(paths)))
    elif args.command == "dagster-dev":
        import os

        os.execvp("dagster", ["dagster", "dev", "-m", "continual_ml.definitions"])
    elif args.command == "ingest":
        from pathlib import Path

        from continual_ml.defs.data.ingestion import LANDING_SUFFIXES, ingest_file_job

        root = Path(args.path)
        files = (
            sorted(p for p in root.iterdir() if p.suffix in set(LANDING_SUFFIXES) | {".jsonl"})
            if root.is_dir()
            else [root]
        )
        for path in files:
            [outcome] = run_job_in_process(
                paths,
                ingest_file_job,
                "ingest_landed_file",
                {"paths": [str(path.resolve())], "kind": args.kind},
            )
            print(
                f"{path.name}: {outcome['status']}, {outcome['rows_good']} rows in, "
                f"{outcome['rows_quarantined']} quarantined {outcome['reason']}".rstrip()
            )
    elif args.command == "rollback":
        from continual_ml.defs.training.operations import rollback_job

        version = run_job_in_process(
            paths,
            rollback_job,
            "restore_previous_champion",
            {"version": args.version, "actor": getpass.getuser()},
        )
        print(f"champion is now v{version}")
    else:
        from continual_ml.defs.training.operations import approval_job

        outcome = run_job_in_process(
            paths,
            approval_job,
            "decide_pending_candidate",
            {
                "version": args.version,
                "approve": args.command == "approve",
                "actor": getpass.getuser(),
            },
        )
        print(f"v{args.version} {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
