"""The subcommands about the local home: init, bootstrap, status, validate, the Dagster UI, and
the demo, which makes a home of its own."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from continual_ml.app.local_home import prepare
from continual_ml.config import Paths
from continual_ml.settings import Settings


def init(args: argparse.Namespace, paths: Paths) -> int:
    if args.sample:
        from continual_ml.app.config_draft import write_draft

        draft = write_draft(args.sample, args.out, args.label)
        features = draft.config["features"]
        kinds = sorted({f["kind"] for f in features})
        print(f"drafted {args.out}: {len(features)} features ({', '.join(kinds)}), valid")
        for note in draft.notes:
            print(f"  review: {note}")
        print(f"then: export CONTINUAL_ML_CONFIG={args.out} && continual-ml init")
        return 0
    from continual_ml.config import load_config

    prepare(paths)  # exports DAGSTER_HOME and friends for this process and what it becomes
    config = load_config()  # a config that cannot load fails here, not in the first run
    print(f"continual-ml home ready at {paths.home} for dataset {config.name!r}")
    return 0


def bootstrap(args: argparse.Namespace, paths: Paths) -> int:
    from continual_ml.app.first_champion import train_first_champion
    from continual_ml.config import load_config
    from continual_ml.models.store import read_pointer

    prepare(paths)
    existing = read_pointer(paths.bentoml_home)
    if existing is not None:
        print(f"champion v{existing['version']} is in charge already; nothing to bootstrap")
        return 0
    train_first_champion(paths, load_config())
    return 0


def status(args: argparse.Namespace, paths: Paths) -> int:
    from continual_ml.app.status import disk_line, status_lines

    # First, and from no store: on a full disk the instance below may not even be readable.
    print(disk_line(paths), flush=True)
    prepare(paths, with_mlflow=False)
    print("\n".join(status_lines(paths)))
    return 0


def validate(args: argparse.Namespace, paths: Paths) -> int:
    # DAGSTER_HOME is the local home's (prepare sets it): without it, Dagster would read the
    # repository's deployment dagster.yaml, which needs the Postgres variables.
    prepare(paths)
    exec_dagster("definitions", "validate")
    return 0


def dagster_dev(args: argparse.Namespace, paths: Paths) -> int:
    prepare(paths)
    os.environ["CONTINUAL_ML_DAGSTER_UI_URL"] = f"http://{args.host}:{args.port}"
    exec_dagster("dev", "-p", str(args.port), "-h", args.host)
    return 0


def demo(args: argparse.Namespace, paths: Paths) -> int:
    from continual_ml.demo.driver import run_demo

    port = args.service_port or Settings.from_env().demo_service_port
    run_demo(paths, n_days=args.days, service_port=port)
    return 0


def exec_dagster(*args: str) -> None:
    """Become Dagster's own CLI: the `dagster` beside this interpreter, not whatever PATH holds,
    run from the checkout so it loads `[tool.dagster]` (code location `continual_ml`)."""
    from continual_ml.app.supervision.service_process import REPO_ROOT

    dagster = str(Path(sys.executable).with_name("dagster"))
    os.chdir(REPO_ROOT)
    os.execv(dagster, [dagster, *args])
