"""Our `ingest_file` against DuckDB's bare `INSERT INTO t SELECT * FROM read_parquet(...)`.

The ceiling is DuckDB copying the file into a table with no checks at all; `ingest_file` hashes
the file, checks every row, looks for repeated ids and quarantines. Both write into a fresh
file-backed DuckDB under the same `memory_limit`, each in its own subprocess so that the peak
RSS (`ru_maxrss`) is that case's alone. Parquet runs at two sizes to show that memory does not
grow with the file; a CSV runs at one. Files in the demo layout are generated once and cached
under the temp directory. Each case runs `--repeat` times, interleaved, and keeps its fastest
run. "ratio" is our rows/s over the ceiling's; "CPU ratio" is the ceiling's CPU seconds over ours,
which a busy machine disturbs less. Prints a markdown table and writes JSON to
`benchmarks/results/ingestion.json`.

    python -m benchmarks.ingestion --rows 10000000 --small-rows 1000000 --csv-rows 1000000
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from time import perf_counter

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from benchmarks.stamp import stamp
from benchmarks.tables import markdown_table
from continual_ml import ingestion
from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch

RESULTS = Path(__file__).parent / "results" / "ingestion.json"
CACHE = Path(tempfile.gettempdir()) / "continual_ml_bench_ingestion"
ROWS_PER_DAY = 1_000_000
CASES = ("ceiling", "ingest_file")


def generate(rows: int, file_format: str, cache: Path = CACHE) -> Path:
    """A file of `rows` synthetic rows, one day of at most ROWS_PER_DAY rows after another."""
    path = cache / f"observations-{rows}.{file_format}"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    base = default_config()
    config = base.model_copy(
        update={"stream": base.stream.model_copy(update={"rows_per_day": ROWS_PER_DAY})}
    )
    partial = path.with_suffix(".partial")
    writer = None
    for index in range(-(-rows // ROWS_PER_DAY)):
        day = config.stream.start_date + timedelta(days=index)
        batch = generate_batch(config, day).head(rows - index * ROWS_PER_DAY)
        table = pa.Table.from_pandas(batch, preserve_index=False)
        if writer is None:
            open_writer = pq.ParquetWriter if file_format == "parquet" else pa_csv.CSVWriter
            writer = open_writer(str(partial), table.schema)
        writer.write_table(table)
    writer.close()
    partial.rename(path)  # a run killed while generating leaves no half file behind
    return path


def _memory_mb(field: str) -> float:
    """VmHWM (peak) or VmRSS (now) of this process, from /proc, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def cpu_seconds() -> float:
    """CPU time of this process's threads: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def interleaved_runs(
    cases: Sequence[str], repeat: int, measure: Callable[[str], dict]
) -> dict[str, list[dict]]:
    """`measure(case)` of every case, `repeat` times, the cases taking turns so that a busy
    moment hurts every case alike."""
    runs: dict[str, list[dict]] = {case: [] for case in cases}
    for _ in range(repeat):
        for case in cases:
            runs[case].append(measure(case))
    return runs


def run_case(case: str, path: Path, database: Path, memory_limit: str) -> dict:
    """Time one case in this process; the caller runs it in a fresh one."""
    for stale in (database, database.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    conn = duckdb.connect(str(database))
    conn.execute(f"SET memory_limit = '{memory_limit}'")
    baseline = _memory_mb("VmRSS")
    cpu_start = cpu_seconds()
    start = perf_counter()
    if case == "ingest_file":
        report = ingestion.ingest_file(conn, default_config(), path)
        rows, quarantined = report.rows_good, report.rows_quarantined
    else:
        reader = f"read_parquet('{path}')" if path.suffix == ".parquet" else f"read_csv('{path}')"
        conn.execute(f"CREATE TABLE t AS SELECT * FROM {reader} LIMIT 0")
        rows, quarantined = conn.execute(f"INSERT INTO t SELECT * FROM {reader}").fetchone()[0], 0
    conn.close()  # the checkpoint that makes the rows durable is part of the work
    seconds = perf_counter() - start
    return {
        "seconds": seconds,
        # CPU time of all DuckDB threads: steadier than wall time on a shared machine
        "cpu_seconds": cpu_seconds() - cpu_start,
        "rows": rows,
        "quarantined": quarantined,
        "rows_per_s": rows / seconds,
        # VmHWM is this process's own peak. ru_maxrss (KiB on Linux) is kept as well, but Linux
        # carries the parent's RSS at spawn into it, so it is only a bound from above.
        "peak_rss_mb": _memory_mb("VmHWM"),
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "baseline_rss_mb": baseline,
    }


def _in_subprocess(*arguments: str) -> dict:
    command = [sys.executable, "-m", "benchmarks.ingestion", *arguments]
    done = subprocess.run(
        command, cwd=Path(__file__).parents[1], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def measure(case: str, path: Path, workdir: Path, memory_limit: str) -> dict:
    database = str(workdir / f"{case}.duckdb")
    return _in_subprocess(
        "--case", case, "--file", str(path), "--database", database, "--memory-limit", memory_limit
    )


def run(
    rows: int = 10_000_000,
    small_rows: int = 1_000_000,
    csv_rows: int = 1_000_000,
    repeat: int = 2,
    memory_limit: str = "256MB",
    output: Path = RESULTS,
    cache: Path = CACHE,
) -> dict:
    files = [("parquet", small_rows), ("parquet", rows), ("csv", csv_rows)]
    comparison = []
    with tempfile.TemporaryDirectory(prefix="bench_ingestion_") as scratch:
        for file_format, n in files:
            # generated in a subprocess too, so this process stays small (see ru_maxrss above)
            path = Path(_in_subprocess("--generate", file_format, str(n), str(cache))["path"])
            measure_file = partial(
                measure, path=path, workdir=Path(scratch), memory_limit=memory_limit
            )
            runs = interleaved_runs(CASES, repeat, measure_file)
            row = {"format": file_format, "rows": n, "file_mb": path.stat().st_size / 2**20}
            for case, results in runs.items():
                best = min(results, key=lambda r: r["seconds"])
                row[case] = best | {"peak_rss_mb": max(r["peak_rss_mb"] for r in results)}
            row["ratio"] = row["ingest_file"]["rows_per_s"] / row["ceiling"]["rows_per_s"]
            row["cpu_ratio"] = row["ceiling"]["cpu_seconds"] / row["ingest_file"]["cpu_seconds"]
            comparison.append(row)
    small, large = comparison[0], comparison[1]
    results = {
        "benchmark": "ingestion",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "machine": platform.machine(),
        "memory_limit": memory_limit,
        "repeat": repeat,
        "comparison": comparison,
        "summary": {
            "parquet_ratio_to_ceiling": large["ratio"],
            "parquet_cpu_ratio_to_ceiling": large["cpu_ratio"],
            "ingest_file_memory_growth": large["ingest_file"]["peak_rss_mb"]
            / small["ingest_file"]["peak_rss_mb"],
            "ceiling_memory_growth": large["ceiling"]["peak_rss_mb"]
            / small["ceiling"]["peak_rss_mb"],
        },
    }
    results["markdown"] = markdown(comparison)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"stamp": stamp(), **results}, indent=2) + "\n")
    return results


def markdown(comparison: list[dict]) -> str:
    header = ["file", "rows", "MiB", "ceiling rows/s", "ingest_file rows/s", "ratio", "CPU ratio"]
    header += ["ceiling peak MiB", "ingest_file peak MiB"]
    rows = [
        [
            row["format"],
            f"{row['rows']:,}",
            f"{row['file_mb']:.0f}",
            f"{row['ceiling']['rows_per_s']:,.0f}",
            f"{row['ingest_file']['rows_per_s']:,.0f}",
            f"{row['ratio']:.2f}",
            f"{row['cpu_ratio']:.2f}",
            f"{row['ceiling']['peak_rss_mb']:.0f}",
            f"{row['ingest_file']['peak_rss_mb']:.0f}",
        ]
        for row in comparison
    ]
    return markdown_table(header, rows, "l" + "r" * 8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="the large Parquet file")
    parser.add_argument("--small-rows", type=int, default=1_000_000, help="the small one")
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per case; the best is kept")
    parser.add_argument("--memory-limit", default="256MB", help="DuckDB memory_limit, both cases")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        file_format, rows, cache = args.generate
        print(json.dumps({"path": str(generate(int(rows), file_format, Path(cache)))}))
        return
    if args.case:  # one measured case, in the fresh process `measure` started
        print(json.dumps(run_case(args.case, args.file, args.database, args.memory_limit)))
        return
    results = run(
        args.rows, args.small_rows, args.csv_rows, args.repeat, args.memory_limit, args.output
    )
    print(results["markdown"])
    print(json.dumps(results["summary"], indent=2))


if __name__ == "__main__":
    main()
