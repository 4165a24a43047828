"""The subcommands a person decides with: roll the champion back, approve or reject a
candidate waiting for approval."""

from __future__ import annotations

import argparse
import getpass

from continual_ml.app.cli.jobs import run_job_in_process
from continual_ml.app.local_home import prepare
from continual_ml.config import Paths


def rollback(args: argparse.Namespace, paths: Paths) -> int:
    from continual_ml.defs.training.operations import rollback_job

    prepare(paths)
    version = run_job_in_process(
        paths,
        rollback_job,
        "restore_previous_champion",
        {"version": args.version, "actor": getpass.getuser()},
    )
    print(f"champion is now v{version}")
    return 0


def decide(args: argparse.Namespace, paths: Paths) -> int:
    """`approve` or `reject`, as the command says."""
    from continual_ml.defs.training.operations import approval_job

    prepare(paths)
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
