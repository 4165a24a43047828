"""File scoring side by side, over the same file: `/score_file`, `continual-ml score`,
`continual-ml score --local`, and a plain pandas + scikit-learn loop.

The file is the demo's observations (ids, timestamps, five numbers, a segment, the label), in
CSV and Parquet, scored by a logistic-regression champion (the linear fast path). The service
runs as `bentoml serve`, its body limit raised so that one request can carry the whole file;
`continual-ml score` sends it in pieces of 16 MiB (CSV) or 250,000 rows (Parquet); `--local`
reads the model store directly; the plain loop reads 100,000 rows at a time with pandas, calls
the pipeline's `predict_proba` and appends CSV with `to_csv` (no checks, no ids, no log). Each
command runs in its own process, so its peak RSS (`ru_maxrss` from `wait4`) is its own; the
service's peak is its process tree's, sampled. Every answer is checked to hold every row, with
the plain loop's probabilities. Prints a markdown table and writes JSON to
`benchmarks/results/file_scoring.json`.

    python -m benchmarks.file_scoring --rows 1000000 --large-rows 10000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from benchmarks.ingestion import generate
from benchmarks.results_file import add_output_arguments, write_results
from benchmarks.tables import markdown_table
from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml_tests.support.exported_models import export_champion

RESULTS = Path(__file__).parent / "results" / "file_scoring.json"
CACHE = Path(tempfile.gettempdir()) / "continual_ml_bench_file_scoring"
ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "continual_ml.app.cli"]
PANDAS_CHUNK_ROWS = 100_000


def champion(store: Path) -> None:
    config = default_config()
    days = [generate_batch(config, partition_date(config, day)) for day in (0, 1)]
    artifact, sha256 = serialize_model(fit_candidate(config, pd.concat(days)))
    export_champion(store, config, 1, artifact, sha256)


def pandas_loop(source: Path, store: Path, output: Path) -> None:
    """The plain way: pandas chunks through the pipeline, appended as CSV."""
    from continual_ml.models.store import ARTIFACT_FILE, model_dir, read_pointer
    from continual_ml.training.pipeline import load_model

    pointer = read_pointer(store)
    artifact = (model_dir(store, pointer["tag"]) / ARTIFACT_FILE).read_bytes()
    pipeline = load_model(artifact, pointer["sha256"])
    features = default_config().feature_names
    if source.suffix == ".parquet":
        parquet = pq.ParquetFile(source)
        chunks = (b.to_pandas() for b in parquet.iter_batches(batch_size=PANDAS_CHUNK_ROWS))
    else:
        chunks = pd.read_csv(source, chunksize=PANDAS_CHUNK_ROWS)
    for number, chunk in enumerate(chunks):
        proba = pipeline.predict_proba(chunk[features])
        for i, name in enumerate(pipeline.classes_):
            chunk[f"probability_{name}"] = proba[:, i]
        chunk.to_csv(output, mode="a" if number else "w", header=not number, index=False)


def timed_process(command: list[str], env: dict | None = None) -> dict:
    """Run `command`; its wall and CPU seconds and its peak RSS, sampled (a child's `ru_maxrss`
    on Linux starts from its parent's RSS at the fork)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE)
    with TreePeak(process.pid) as tree:
        output = process.stdout.read().decode()
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{command} failed ({process.returncode}): {output[-500:]}")
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": tree.peak,
        "output": output.strip()[-300:],
    }


class TreePeak:
    """The peak RSS of a process and its children, sampled while in use."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak, self._stop = psutil.Process(pid), 0.0, threading.Event()

    def cpu(self) -> float:
        total = 0.0
        for p in [self.process, *self.process.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
        return total

    def __enter__(self):
        def sample():
            while not self._stop.wait(0.05):
                try:
                    tree = [self.process, *self.process.children(recursive=True)]
                    rss = sum(p.memory_info().rss for p in tree)
                except psutil.Error:  # a process ended meanwhile
                    continue
                self.peak = max(self.peak, rss / 2**20)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def post_whole(url: str, source: Path, output: Path, tree: TreePeak) -> dict:
    content_type = "application/vnd.apache.parquet" if source.suffix == ".parquet" else "text/csv"
    cpu, started = tree.cpu(), time.perf_counter()
    with (
        source.open("rb") as body,
        httpx.stream(
            "POST", url, content=body, headers={"content-type": content_type}, timeout=3600
        ) as answer,
        output.open("wb") as out,
    ):
        if answer.status_code != 200:
            raise RuntimeError(f"/score_file: {answer.status_code} {answer.read()[:300]!r}")
        for chunk in answer.iter_bytes():
            out.write(chunk)
    return {"seconds": time.perf_counter() - started, "server_cpu_seconds": tree.cpu() - cpu}


def answer_rows(path: Path) -> tuple[int, pd.Series]:
    """The rows of a scored file and its class-1 probabilities."""
    if path.suffix == ".parquet":
        table = pq.read_table(path, columns=["probability_1"])
    else:
        read = pa_csv.ConvertOptions(include_columns=["probability_1"])
        table = pa_csv.read_csv(path, convert_options=read)
    return table.num_rows, table.column(0).to_pandas()


def run_file(source: Path, service: ServiceProcess, scratch: Path, cases: Sequence[str]) -> list:
    rows = pq.ParquetFile(source).metadata.num_rows if source.suffix == ".parquet" else None
    env = {**os.environ, "CONTINUAL_ML_SERVICE_URL": service.url}
    env["BENTOML_HOME"] = str(service.bentoml_home)
    outputs, results = {}, []
    for case in cases:
        output = scratch / f"{case}{'.parquet' if case == 'local_parquet' else '.csv'}"
        output.unlink(missing_ok=True)
        if case == "score_file":
            with TreePeak(service.process.pid) as tree:
                figures = post_whole(f"{service.url}/score_file", source, output, tree)
            figures["peak_rss_mb"] = tree.peak
        elif case == "pandas_sklearn":
            store = str(service.bentoml_home)
            command = [sys.executable, "-m", "benchmarks.file_scoring", "--pandas-loop"]
            figures = timed_process([*command, str(source), store, str(output)], env)
        else:
            command = [*CLI, "score", str(source), "--output", str(output), "--no-progress"]
            if case.startswith("local"):
                command.append("--local")
            if case == "score":
                with TreePeak(service.process.pid) as tree:
                    cpu = tree.cpu()
                    figures = timed_process(command, env)
                figures["server_cpu_seconds"] = tree.cpu() - cpu
                figures["server_peak_rss_mb"] = tree.peak
            else:
                figures = timed_process(command, env)
        count, outputs[case] = answer_rows(output)
        rows = rows or count
        if count != rows:
            raise RuntimeError(f"{case}: {count} rows answered of {rows}")
        results.append({"case": case, "file": source.name, "rows": count, **figures})
        results[-1]["rows_per_s"] = count / figures["seconds"]
        output.unlink()
    if "pandas_sklearn" in outputs:
        for case, probabilities in outputs.items():
            gap = (probabilities - outputs["pandas_sklearn"]).abs().max()
            assert gap < 1e-9, f"{case} differs from the plain pipeline by {gap}"
    return results


def run(
    rows: int = 1_000_000,
    large_rows: int = 0,
    output: Path | None = RESULTS,
    workdir: str | None = None,
) -> dict:
    results = []
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        scratch = Path(folder)
        champion(scratch / "bentoml")
        limits = {"CONTINUAL_ML_MAX_FILE_BYTES": str(2**31 - 1)}  # one request takes any file
        service = ServiceProcess(
            scratch / "bentoml", scratch / "service.log", scratch / "logs", extra_env=limits
        )
        everything = ("score_file", "score", "local", "pandas_sklearn")
        with service:
            warm_up = scratch / "warm_up.csv"
            generate_batch(default_config(), partition_date(default_config(), 0)).head(1000).to_csv(
                warm_up, index=False
            )
            run_file(warm_up, service, scratch, ("score_file",))  # first-request costs
            for file_format in ("csv", "parquet"):
                cases = everything + (("local_parquet",) if file_format == "parquet" else ())
                source = generate(rows, file_format, CACHE)
                results += run_file(source, service, scratch, cases)
            if large_rows:
                source = generate(large_rows, "parquet", CACHE)
                results += run_file(source, service, scratch, ("score", "local", "local_parquet"))
    report = {"rows": rows, "large_rows": large_rows, "results": results}
    if output is not None:
        write_results(output, report)
    return report


def table(report: dict) -> str:
    header = ["file", "rows", "case", "s", "rows/s", "CPU s", "peak RSS MiB"]
    return markdown_table(
        header,
        [
            [
                r["file"],
                f"{r['rows']:,}",
                r["case"],
                f"{r['seconds']:.2f}",
                f"{r['rows_per_s']:,.0f}",
                f"{r.get('cpu_seconds', r.get('server_cpu_seconds', 0)):.1f}",
                f"{r.get('peak_rss_mb', 0):,.0f}",
            ]
            for r in report["results"]
        ],
        "llllrrr",
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--large-rows", type=int, default=0, help="a Parquet file for the CLI")
    parser.add_argument("--pandas-loop", nargs=3, metavar=("SOURCE", "STORE", "OUTPUT"))
    add_output_arguments(parser, str(RESULTS))
    args = parser.parse_args(argv)
    if args.pandas_loop:
        pandas_loop(*map(Path, args.pandas_loop))
        return
    report = run(args.rows, args.large_rows, Path(args.out), args.workdir)
    print(table(report))


if __name__ == "__main__":
    main()
