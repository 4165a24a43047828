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

    op_config = {"version": args.version, "actor": getpass.getuser()}
    version = _run_decision(paths, rollback_job, "restore_previous_champion", op_config)
    print(f"champion is now v{version}")
    return 0


def decide(args: argparse.Namespace, paths: Paths) -> int:
    """`approve` or `reject`, as the command says."""
    from continual_ml.defs.training.operations import approval_job

    op_config = {
        "version": args.version,
        "approve": args.command == "approve",
        "actor": getpass.getuser(),
    }
    outcome = _run_decision(paths, approval_job, "decide_pending_candidate", op_config)
    print(f"v{args.version} {outcome}")
    return 0


def _run_decision(paths: Paths, job, op_name: str, op_config: dict):
    """Run a person's decision as its job in this process, against the local home."""
    prepare(paths)
    return run_job_in_process(paths, job, op_name, op_config)
