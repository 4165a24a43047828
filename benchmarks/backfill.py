"""Onboarding a year of history: one monitoring run per day against one run over the year.

A new user's history (365 days × 2,000 labelled rows, drifting part way) goes in as they would
put it in: `continual-ml init`, `continual-ml ingest history.parquet`, `continual-ml bootstrap`.
Then, side by side in one run on the same home:

- one run per day, as a daemon launching a run per partition would: `continual-ml backfill
  --start D --end D` for `--sample` days, each its own process (start-up, imports, one day);
- one run over the year: `continual-ml backfill` (every ingested day, one process).

Checked at the end: every day has `observations`, `drift_report` and `model_performance` in
Dagster's event log, and a drift report and a performance row in DuckDB. Writes
`benchmarks/results/backfill.json`.

    python -m benchmarks.backfill --days 365 --sample 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

from benchmarks.results_file import add_output_arguments, write_results

RESULTS = Path(__file__).parent / "results" / "backfill.json"
CLI = str(Path(sys.executable).parent / "continual-ml")
REPO = Path(__file__).resolve().parents[1]
FIRST_DAY = date(2025, 1, 1)
MONITORED = ("observations", "drift_report", "model_performance")


def write_history(folder: Path, days: int, rows_per_day: int) -> tuple[Path, Path]:
    """A user's dataset config and history file (not the demo's: its label has another name)."""
    from continual_ml.config import DEFAULT_CONFIG, DatasetConfig
    from continual_ml.demo.synthetic_stream import generate_batch

    raw = yaml.safe_load(Path(DEFAULT_CONFIG).read_text())
    raw["stream"].update(start_date=FIRST_DAY, rows_per_day=rows_per_day, drift_day=days * 2 // 3)
    stream = DatasetConfig.model_validate(raw)
    import pandas as pd

    history = pd.concat(
        [generate_batch(stream, FIRST_DAY + timedelta(days=i)) for i in range(days)],
        ignore_index=True,
    )
    history = history.drop(columns="batch_id").rename(columns={"label": "approved"})
    path = folder / "history.parquet"
    history.to_parquet(path, index=False)
    user = {k: v for k, v in raw.items() if k != "stream"}
    user.update(name="year_of_history", label="approved", first_day=FIRST_DAY.isoformat())
    config = folder / "dataset.yaml"
    config.write_text(yaml.safe_dump(user, sort_keys=False))
    return config, path


def run_cli(env: dict, *argv: str) -> float:
    """Run `continual-ml ARGV` in its own process; its wall time, or an error with its output."""
    started = time.perf_counter()
    done = subprocess.run(
        [CLI, *argv], env=env, cwd=REPO, capture_output=True, text=True, timeout=1800
    )
    if done.returncode != 0:
        raise RuntimeError(f"continual-ml {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def monitored_days(home: Path) -> dict:
    """Per asset, the days Dagster recorded a materialization for; and DuckDB's row counts."""
    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    import dagster as dg
    import duckdb

    with dg.DagsterInstance.get() as instance:
        events = {
            asset: sorted(instance.get_materialized_partitions(dg.AssetKey(asset)))
            for asset in MONITORED
        }
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        tables = {
            table: conn.execute(f"SELECT count(DISTINCT partition_date) FROM {table}").fetchone()[0]
            for table in ("observations", "drift_reports", "performance_history")
        }
    return {"events": events, "warehouse_days": tables}


def run(days: int = 365, rows_per_day: int = 2000, sample: int = 10, workdir=None) -> dict:
    folder = Path(workdir or tempfile.mkdtemp(prefix="backfill-"))
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    config, history = write_history(folder, days, rows_per_day)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONTINUAL_ML_", "DAGSTER_", "BENTOML_", "MLFLOW_"))
    }
    env.update(CONTINUAL_ML_HOME=str(home), CONTINUAL_ML_CONFIG=str(config))
    load_before = os.getloadavg()
    setup = {
        "init_s": run_cli(env, "init"),
        "ingest_s": run_cli(env, "ingest", str(history)),
        "bootstrap_s": run_cli(env, "bootstrap"),
    }
    # One run per day, for the first `sample` days.
    per_day_runs = [
        run_cli(env, "backfill", "--start", str(day), "--end", str(day))
        for day in (FIRST_DAY + timedelta(days=i) for i in range(sample))
    ]
    one_run = run_cli(env, "backfill")
    load_after = os.getloadavg()
    check = monitored_days(home)
    per_day_s = sum(per_day_runs) / len(per_day_runs)
    one_run_per_day_s = one_run / days
    results = {
        "days": days,
        "rows_per_day": rows_per_day,
        "setup": {k: round(v, 1) for k, v in setup.items()},
        "one_run_per_day": {
            "days": sample,
            "runs_s": [round(s, 2) for s in per_day_runs],
            "per_day_s": round(per_day_s, 2),
            "projected_year_s": round(per_day_s * days, 1),
        },
        "one_run_for_all_days": {
            "days": days,
            "wall_s": round(one_run, 1),
            "per_day_s": round(one_run_per_day_s, 3),
        },
        "per_day_cost_ratio": round(per_day_s / one_run_per_day_s, 1),
        "onboarding_s": round(sum(setup.values()) + one_run, 1),
        "days_with": {asset: len(found) for asset, found in check["events"].items()},
        "warehouse_days": check["warehouse_days"],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
    }
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=10, help="days run one run per day")
    add_output_arguments(parser, out=str(RESULTS))
    args = parser.parse_args(argv)
    results = run(args.days, args.rows_per_day, args.sample, args.workdir)
    write_results(args.out, results)
    print(json.dumps({k: v for k, v in results.items()}, indent=2))
    return results


if __name__ == "__main__":
    main()
