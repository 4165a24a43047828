"""The command line's arguments: every subcommand, its options and their help."""

from __future__ import annotations

import argparse
import os

DESCRIPTION = "The `continual-ml` command line."


def port_number(text: str) -> int:
    """A TCP port, refused with a message argparse shows when it is not one."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="continual-ml", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="play the drift scenario through the whole loop")
    demo.add_argument("--days", type=int, default=None, help="simulated days (default: drift+6)")
    demo.add_argument(
        "--service-port",
        type=port_number,
        default=None,
        help="the port its BentoML service listens on, on 127.0.0.1 (default: "
        "$CONTINUAL_ML_DEMO_SERVICE_PORT, else a free port)",
    )
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
    init.add_argument(
        "--label", default=None, help="with --from: the label column (else it is guessed)"
    )
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
    backfill.add_argument("--start", help="first day (default: the first with data)")
    backfill.add_argument("--end", help="last day (default: the last with data)")
    score = commands.add_parser(
        "score",
        help="score a CSV/Parquet file of any size with the running service (sent in pieces), "
        "or with --local from the model store",
    )
    score.add_argument("path")
    score.add_argument("--url", default=None, help="the service (default http://127.0.0.1:3001)")
    score.add_argument("--output", default=None, help="where to write (default <name>.scored.csv)")
    score.add_argument(
        "--local",
        action="store_true",
        help="score here with the champion the service would serve, from the local model store "
        "(no service needed; predictions are not logged and get no id)",
    )
    score.add_argument(
        "--chunk-mb", type=float, default=16.0, help="CSV bytes per request to the service"
    )
    score.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on stderr (default: on a terminal)",
    )
    rollback = commands.add_parser("rollback", help="restore the previous (or a given) champion")
    rollback.add_argument("version", type=int, nargs="?", default=None)
    worker = commands.add_parser("worker", help="execute runs sent to Celery")
    worker.add_argument("--name", default=f"worker-{os.getpid()}", help="unique per worker")
    worker.add_argument("--concurrency", type=int, default=1, help="runs at a time")
    worker.add_argument("--workdir", default=".", help="the worker's own folder")
    for name, text in (
        ("approve", "promote a candidate waiting for approval"),
        ("reject", "reject a candidate waiting for approval"),
    ):
        decision = commands.add_parser(name, help=text)
        decision.add_argument("version", type=int)
    return parser
