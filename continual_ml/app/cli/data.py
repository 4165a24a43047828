"""The subcommands about data: ingest files, monitor a range of days, score a file."""

from __future__ import annotations

import argparse
from pathlib import Path

from continual_ml.app.cli.jobs import raise_step_failure, run_job_in_process
from continual_ml.app.errors import CommandFailed
from continual_ml.app.local_home import prepare
from continual_ml.config import Paths


def ingest(args: argparse.Namespace, paths: Paths) -> int:
    from continual_ml.defs.data.ingestion import LANDING_SUFFIXES, ingest_file_job
    from continual_ml.ingestion.progress import wants_progress

    prepare(paths)
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
    changing = [o["file"] for o in outcomes if o["status"] == "changing"]
    if changing:
        raise CommandFailed(
            f"not ingested, still being written: {', '.join(changing)}; ingest again once complete"
        )
    return 0


def ingest_summary(outcomes: list[dict]) -> str:
    """One line over every file: how many went where, and the rows in and quarantined."""
    by_status: dict[str, int] = {}
    for outcome in outcomes:
        by_status[outcome["status"]] = by_status.get(outcome["status"], 0) + 1
    files = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
    good = sum(o["rows_good"] for o in outcomes)
    quarantined = sum(o["rows_quarantined"] for o in outcomes)
    waiting = sum(o.get("waiting", 0) for o in outcomes)
    orphaned = sum(o.get("for_quarantined_rows", 0) for o in outcomes)
    return (
        f"{len(outcomes)} files ({files}): {good} rows in, {quarantined} quarantined"
        + (f", {waiting} labels waiting for their rows or predictions" if waiting else "")
        + (f", {orphaned} labels for quarantined rows (not waited for)" if orphaned else "")
    )


def backfill(args: argparse.Namespace, paths: Paths) -> int:
    from continual_ml.app.backfill import backfill_ranges, backfill_summary, run_backfill

    prepare(paths)
    ranges, run_ids = backfill_ranges(paths, args.start, args.end), []
    for start, end in ranges:  # by default the stretches of days that hold data
        result = run_backfill(paths, start, end)
        if not result.success:
            raise_step_failure(result, f"run {result.run_id}")
        run_ids.append(result.run_id)
    print(backfill_summary(ranges, run_ids))
    return 0


def score(args: argparse.Namespace, paths: Paths) -> int:
    from continual_ml.app.cli.score_progress import ProgressBar, wants_bar
    from continual_ml.serving.file_client import score_locally, score_with_service

    bar = ProgressBar(Path(args.path).name) if wants_bar(args.progress) else None
    try:
        if args.local:
            from continual_ml.config import default_config

            summary = score_locally(
                args.path, paths.bentoml_home, default_config(), args.output, on_progress=bar
            )
        else:
            chunk_bytes = int(args.chunk_mb * 1024 * 1024)
            summary = score_with_service(
                args.path, args.url, args.output, chunk_bytes=chunk_bytes, on_progress=bar
            )
    finally:
        if bar is not None:
            bar.close()
    print(summary)
    return 0
