"""`ingest_file` into each warehouse backend, the same files side by side in one run.

Backends: the embedded DuckDB file; DuckLake with its catalog in Postgres and its data in a
folder; DuckLake with its data on an S3-compatible store (moto's server on loopback, in this
process). Postgres and the store run for the whole benchmark; each case gets a fresh catalog
database and data path, and runs in its own subprocess (like `benchmarks.ingestion`), which
times opening the warehouse, creating the schema, and `ingest_file` separately. Cases run
`--repeat` times, interleaved, and the fastest run is kept. Files are the demo's layout,
generated once by `benchmarks.ingestion.generate`. Prints a markdown table and writes JSON to
`benchmarks/results/ingestion_backends.json`.

    python -m benchmarks.ingestion_backends --rows 1000000 --small-rows 20000 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from time import perf_counter

import duckdb

from benchmarks.ingestion import CACHE, cpu_seconds, generate, interleaved_runs
from benchmarks.stamp import stamp
from benchmarks.tables import markdown_table
from continual_ml import ingestion
from continual_ml.config import Paths, default_config
from continual_ml.warehouse.connection import warehouse_connection, warehouse_location
from continual_ml.warehouse.schema import apply_schema

RESULTS = Path(__file__).parent / "results" / "ingestion_backends.json"
CASES = ("duckdb_file", "ducklake_folder", "ducklake_s3")


def run_case(path: Path) -> dict:
    """Time one ingestion into the warehouse this process's environment selects."""
    location = warehouse_location(Paths.from_env())
    start = perf_counter()
    with warehouse_connection(location) as conn:
        opened = perf_counter()
        apply_schema(conn, default_config())
        schema = perf_counter()
        cpu_start = cpu_seconds()
        report = ingestion.ingest_file(conn, default_config(), path)
        seconds = perf_counter() - schema
        cpu_used = cpu_seconds() - cpu_start
        stored = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_used,
        "open_seconds": opened - start,
        "schema_seconds": schema - opened,
        "rows": report.rows_good,
        "stored": stored,
        "rows_per_s": report.rows_good / seconds,
    }


def measure(case: str, path: Path, scratch: Path, servers: dict) -> dict:
    from continual_ml_tests.support.lake_servers import lake_environment

    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("CONTINUAL_ML_", "DAGSTER_"))
    }
    home = Path(tempfile.mkdtemp(prefix=f"{case}-{path.stem}-", dir=scratch))  # starts empty
    environment["CONTINUAL_ML_HOME"] = str(home)
    environment["CONTINUAL_ML_DUCKDB_MEMORY"] = servers["memory_limit"]
    if case == "ducklake_folder":
        environment |= lake_environment(servers["catalog"], data=home / "lake")
    elif case == "ducklake_s3":
        environment |= lake_environment(servers["catalog"], store=servers["store"])
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.ingestion_backends", "--case-file", str(path)],
        cwd=Path(__file__).parents[1],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{case} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def run(
    rows: int = 1_000_000,
    small_rows: int = 20_000,
    repeat: int = 2,
    memory_limit: str = "1GB",
    output: Path = RESULTS,
    cache: Path = CACHE,
) -> dict:
    from continual_ml_tests.support.lake_servers import running_catalog_server, running_object_store

    comparison, uptime = [], {"before": _uptime()}
    with (
        tempfile.TemporaryDirectory(prefix="bench_backends_") as scratch,
        running_catalog_server(Path(scratch) / "postgres.log") as catalog,
        running_object_store() as store,
    ):
        servers = {"catalog": catalog, "store": store, "memory_limit": memory_limit}
        for n_rows in (small_rows, rows):
            path = generate(n_rows, "parquet", cache)
            runs = interleaved_runs(
                CASES, repeat, partial(measure, path=path, scratch=Path(scratch), servers=servers)
            )
            row = {"rows": n_rows, "file_mb": path.stat().st_size / 2**20}
            for case, results in runs.items():
                row[case] = min(results, key=lambda r: r["seconds"])
            for case in CASES[1:]:
                row[f"{case}_ratio"] = row[case]["rows_per_s"] / row["duckdb_file"]["rows_per_s"]
            comparison.append(row)
    uptime["after"] = _uptime()
    results = {
        "benchmark": "ingestion_backends",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "memory_limit": memory_limit,
        "repeat": repeat,
        "uptime": uptime,
        "comparison": comparison,
        "markdown": markdown(comparison),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"stamp": stamp(), **results}, indent=2) + "\n")
    return results


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def markdown(comparison: list[dict]) -> str:
    header = ["rows", "MiB", "DuckDB file rows/s", "DuckLake folder rows/s (ratio)"]
    header += ["DuckLake S3 rows/s (ratio)", "attach + schema s (file / folder / S3)"]
    rows = [
        [
            f"{row['rows']:,}",
            f"{row['file_mb']:.1f}",
            f"{row['duckdb_file']['rows_per_s']:,.0f}",
            f"{row['ducklake_folder']['rows_per_s']:,.0f} ({row['ducklake_folder_ratio']:.2f})",
            f"{row['ducklake_s3']['rows_per_s']:,.0f} ({row['ducklake_s3_ratio']:.2f})",
            " / ".join(f"{row[c]['open_seconds'] + row[c]['schema_seconds']:.2f}" for c in CASES),
        ]
        for row in comparison
    ]
    return markdown_table(header, rows, "rrrrrl")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="the large Parquet file")
    parser.add_argument("--small-rows", type=int, default=20_000, help="a day-sized one")
    parser.add_argument("--repeat", type=int, default=2, help="runs per case; the best is kept")
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--case-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case_file:  # one measured case, in the fresh process `measure` started
        print(json.dumps(run_case(args.case_file)))
        return
    results = run(args.rows, args.small_rows, args.repeat, args.memory_limit, args.output)
    print(results["markdown"])


if __name__ == "__main__":
    main()
