"""The `continual-ml` command line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import warnings
from pathlib import Path

from continual_ml.app.errors import CommandFailed, log_failure, one_line, root_cause
from continual_ml.config import Paths

# The runs' event logs keep every step in the Dagster instance; the console gets one line each.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="continual-ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="play the drift scenario through the whole loop")
    demo.add_argument("--days", type=int, default=None, help="simulated days (default: drift+6)")
    up = commands.add_parser(
        "up", help="run the live system: Dagster webserver and daemon, MLflow UI, BentoML service"
    )
    up.add_argument(
        "--traffic", action="store_true", help="also play the demo's stream to the service"
    )
    up.add_argument(
        "--traffic-from",
        metavar="FILE",
        help="replay your own rows (CSV or Parquet in your format) as traffic, a day at a time",
    )
    up.add_argument("--days", type=int, default=None, help="days of traffic (default: endless)")
    up.add_argument("--day-seconds", type=float, default=30.0, help="real seconds per day")
    up.add_argument("--dagster-port", type=int, default=3000)
    up.add_argument("--mlflow-port", type=int, default=5000)
    up.add_argument("--service-port", type=int, default=3001)
    commands.add_parser("status", help="the champion, latest drift and performance, runs, alerts")
    init = commands.add_parser(
        "init", help="prepare the local home and validate the config (or draft one from a file)"
    )
    init.add_argument(
        "--from", dest="sample", help="draft a dataset YAML from this CSV or Parquet sample"
    )
    init.add_argument("--out", default="dataset.yaml", help="where the draft goes")
    commands.add_parser(
        "bootstrap", help="train and promote the first champion from your ingested history"
    )
    commands.add_parser(
        "validate", help="load and validate the Dagster definitions on the local home's instance"
    )
    dev = commands.add_parser("dagster-dev", help="open the Dagster UI on the local home")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--host", default="127.0.0.1")
    ingest = commands.add_parser("ingest", help="ingest a CSV/Parquet file or a folder of them")
    ingest.add_argument("path")
    ingest.add_argument(
        "--kind", choices=["observations", "labels", "prediction_log"], default="observations"
    )
    ingest.add_argument(
        "--force",
        action="store_true",
        help="ingest again a file seen before (e.g. quarantined whole before a config fix): "
        "observations replace the partitions the file covers, labels are added again",
    )
    backfill = commands.add_parser(
        "backfill",
        help="monitor a range of ingested days in one run (drift and the champion's performance)",
    )
    backfill.add_argument("--start", help="first day (default: the first day ingested)")
    backfill.add_argument("--end", help="last day (default: the last day ingested)")
    score = commands.add_parser(
        "score", help="score a CSV/Parquet file with the running service, one row at a time"
    )
    score.add_argument("path")
    score.add_argument("--url", default=None, help="the service (default http://127.0.0.1:3001)")
    score.add_argument("--output", default=None, help="where to write (default <name>.scored.csv)")
    rollback = commands.add_parser("rollback", help="restore the previous (or a given) champion")
    rollback.add_argument("version", type=int, nargs="?", default=None)
    worker = commands.add_parser("worker", help="execute the steps of runs sent to Celery")
    worker.add_argument("--name", default=f"worker-{os.getpid()}", help="unique per worker")
    worker.add_argument("--concurrency", type=int, default=1, help="steps at a time")
    worker.add_argument("--workdir", default=".", help="the worker's own folder")
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
        run_config={"ops": {op_name: {"config": op_config}}, **QUIET_RUN_CONFIG},
        resources=build_resources(paths),
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
    )
    if not result.success:
        failure = next(e for e in result.all_events if e.is_step_failure)
        error = failure.step_failure_data.error
        raise CommandFailed(
            root_cause(error), f"{job.name} run {result.run_id}\n{error.to_string()}"
        )
    return result.output_for_node(op_name)


def ingest_summary(outcomes: list[dict]) -> str:
    """One line over every file: how many went where, and the rows in and quarantined."""
    by_status: dict[str, int] = {}
    for outcome in outcomes:
        by_status[outcome["status"]] = by_status.get(outcome["status"], 0) + 1
    files = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
    good = sum(o["rows_good"] for o in outcomes)
    quarantined = sum(o["rows_quarantined"] for o in outcomes)
    waiting = sum(o.get("waiting", 0) for o in outcomes)
    return f"{len(outcomes)} files ({files}): {good} rows in, {quarantined} quarantined" + (
        f", {waiting} labels waiting for their rows or predictions" if waiting else ""
    )


def exec_dagster(*args: str) -> None:
    """Become Dagster's own CLI: the `dagster` beside this interpreter, not whatever PATH holds,
    run from the checkout so it loads `[tool.dagster]` (code location `continual_ml`)."""
    from continual_ml.app.service_process import REPO_ROOT

    dagster = str(Path(sys.executable).with_name("dagster"))
    os.chdir(REPO_ROOT)
    os.execv(dagster, [dagster, *args])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = Paths.from_env()
    # Library notices (beta APIs, deprecations in dependencies) are for us, not for the user.
    warnings.filterwarnings("ignore")
    try:
        return run_command(args, paths)
    except Exception as error:
        where = log_failure(paths, args.command, error)
        print(f"continual-ml {args.command}: {one_line(error)} (details: {where})", file=sys.stderr)
        return 1


def run_command(args: argparse.Namespace, paths: Paths) -> int:
    if args.command == "init" and args.sample:
        from continual_ml.app.config_draft import write_draft

        draft = write_draft(args.sample, args.out)
        features = draft.config["features"]
        kinds = sorted({f["kind"] for f in features})
        print(f"drafted {args.out}: {len(features)} features ({', '.join(kinds)}), valid")
        for note in draft.notes:
            print(f"  review: {note}")
        print(f"then: export CONTINUAL_ML_CONFIG={args.out} && continual-ml init")
        return 0
    if args.command == "demo":
        from continual_ml.app.demo import run_demo

        run_demo(paths, n_days=args.days)
        return 0
    if args.command == "worker":
        from continual_ml.app.worker import exec_worker

        exec_worker(args.name, args.concurrency, Path(args.workdir))
    if args.command == "score":
        from continual_ml.serving.file_scoring import score_with_service

        print(score_with_service(args.path, args.url, args.output))
        return 0

    from continual_ml.app.local_home import prepare

    prepare(paths)  # exports DAGSTER_HOME and friends for this process and what it becomes
    if args.command == "init":
        from continual_ml.config import load_config

        config = load_config()  # a config that cannot load fails here, not in the first run
        print(f"continual-ml home ready at {paths.home} for dataset {config.name!r}")
    elif args.command == "bootstrap":
        from continual_ml.app.first_champion import train_first_champion
        from continual_ml.config import load_config
        from continual_ml.serving.model_store import read_pointer

        existing = read_pointer(paths.bentoml_home)
        if existing is not None:
            print(f"champion v{existing['version']} is in charge already; nothing to bootstrap")
            return 0
        train_first_champion(paths, load_config())
    elif args.command == "up":
        from continual_ml.app.live_system import Ports
        from continual_ml.app.up import run_up

        ports = Ports(args.dagster_port, args.mlflow_port, args.service_port)
        os.environ["CONTINUAL_ML_DAGSTER_UI_URL"] = f"http://127.0.0.1:{args.dagster_port}"
        return run_up(
            paths,
            ports,
            args.traffic,
            args.days,
            args.day_seconds,
            traffic_from=args.traffic_from,
        )
    elif args.command == "status":
        from continual_ml.app.status import status_lines

        print("\n".join(status_lines(paths)))
    elif args.command == "validate":
        # DAGSTER_HOME is the local home's (prepare set it): without it, Dagster would read the
        # repository's deployment dagster.yaml, which needs the Postgres variables.
        exec_dagster("definitions", "validate")
    elif args.command == "dagster-dev":
        os.environ["CONTINUAL_ML_DAGSTER_UI_URL"] = f"http://{args.host}:{args.port}"
        exec_dagster("dev", "-p", str(args.port), "-h", args.host)
    elif args.command == "ingest":
        from continual_ml.defs.data.ingestion import LANDING_SUFFIXES, ingest_file_job
        from continual_ml.ingestion.progress import wants_progress

        root = Path(args.path)
        files = (
            sorted(p for p in root.iterdir() if p.suffix.lower() in {*LANDING_SUFFIXES, ".jsonl"})
            if root.is_dir()
            else [root]
        )
        if not files:
            raise CommandFailed(f"no CSV or Parquet file in {root}")
        outcomes = []
        for path in files:
            [outcome] = run_job_in_process(
                paths,
                ingest_file_job,
                "ingest_landed_file",
                {
                    "paths": [str(path.resolve())],
                    "kind": args.kind,
                    "force": args.force,
                    "progress": wants_progress(path),
                },
            )
            outcomes.append(outcome)
            waiting = f", {outcome['waiting']} waiting" if outcome.get("waiting") else ""
            print(
                f"{path.name}: {outcome['status']}, {outcome['rows_good']} rows in, "
                f"{outcome['rows_quarantined']} quarantined{waiting} {outcome['reason']}".rstrip()
            )
        print(ingest_summary(outcomes))
    elif args.command == "backfill":
        from continual_ml.app.backfill import backfill_range, run_backfill

        start, end = backfill_range(paths, args.start, args.end)
        result = run_backfill(paths, start, end)
        if not result.success:
            failure = next(e for e in result.all_events if e.is_step_failure)
            error = failure.step_failure_data.error
            raise CommandFailed(root_cause(error), f"run {result.run_id}\n{error.to_string()}")
        days = (end - start).days + 1
        print(f"monitored {days} days, {start} .. {end}, in one run ({result.run_id})")
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
