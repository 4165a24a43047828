"""The benchmarks page, rendered from `benchmarks/results/*.json` at build time.

No figure on the page is typed by hand: each table cell is a value of a results file, or one
written with `FORMATS`, so a test can tell that every number shown is in a file. Each file's
`stamp` (commit, uv.lock's sha256, machine, date) heads its section; a file measured before
results were stamped says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
MAX_ROWS = 20  # a longer series (samples every 15 s, every minute) stays in its file

# Every way a number may be written on the page (a test renders each file's numbers with these).
FORMATS: dict[str, Callable[[float], str]] = {
    "count": lambda x: f"{x:,.0f}",
    "general": lambda x: f"{x:,.4g}",
    "1": lambda x: f"{x:,.1f}",
    "2": lambda x: f"{x:,.2f}",
    "3": lambda x: f"{x:,.3f}",
    "4": lambda x: f"{x:,.4f}",
    "percent": lambda x: f"{100 * x:.0f}%",
    "times": lambda x: f"{x:.1f}×",
}

# The command that wrote each results file (by stem), for files that do not record their own
# `command`, as each benchmark's module docstring says.
COMMANDS = {
    "backfill": "python -m benchmarks.backfill --days 365 --sample 10",
    "backfill_workers": "python -m benchmarks.backfill_workers --days 365 --slots 1 2 4 "
    "--days-per-run 30",
    "backfill_workers_120_days": "python -m benchmarks.backfill_workers --days 120 "
    "--out benchmarks/results/backfill_workers_120_days.json",
    "continual_learning": "python -m benchmarks.continual_learning",
    "drift_engine": "python -m benchmarks.drift_engine",
    "gate_error_rates": "python -m benchmarks.gate_error_rates",
    "ingestion": "python -m benchmarks.ingestion",
    "ingestion_backends": "python -m benchmarks.ingestion_backends",
    "promotion": "python -m benchmarks.promotion",
    "recovery": "python -m benchmarks.recovery --trials 10",
    "serving": "python -m benchmarks.serving --duration 10",
    "serving_replicas": "python -m benchmarks.serving_replicas --duration 10",
    "sustained_load_10s_days": "python -m benchmarks.sustained_load --day-seconds 10 --minutes 30",
    "sustained_load_20s_days": "python -m benchmarks.sustained_load --day-seconds 20 --minutes 7",
    "user_datasets": "python -m benchmarks.user_datasets",
}


def fmt(value: object, kind: str = "general") -> str:
    """A cell: numbers in one of `FORMATS`, anything else as written in the file."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value).replace("|", "\\|").replace("\n", " ")
    if isinstance(value, int) and kind != "percent" and kind != "times":
        return FORMATS["count"](value)
    return FORMATS[kind](value)


def table(headers: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def stamp_text(stamp: dict | None) -> str:
    """Where a file's figures came from, or that nobody recorded it."""
    if not stamp:
        return '!!! warning "Not stamped"\n    This file records no commit, lock file or machine.'
    if stamp.get("measured_before_stamping") or not stamp.get("commit"):
        return (
            '!!! note "Measured before stamping"\n'
            "    The commit, uv.lock and machine of this measurement were not recorded; "
            f"the file was last committed on {stamp.get('date', 'an unknown date')}."
        )
    machine = stamp.get("machine") or {}
    dirty = " (with uncommitted changes)" if stamp.get("dirty") else ""
    return (
        f"Measured at commit `{stamp['commit'][:12]}`{dirty} on {stamp.get('date')}; "
        f"uv.lock sha256 `{(stamp.get('uv_lock_sha256') or '?')[:12]}`; "
        f"{machine.get('cpu_model', '?')}, {machine.get('nproc', '?')} CPUs, "
        f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}, "
        f"load average {machine.get('load_average', '?')}."
    )


def _unix_time(value: object) -> bool:
    """A moment as seconds since 1970 (an event's time): meaningless in a table."""
    return isinstance(value, float) and 1e9 < value < 1e11


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flat(record: dict, prefix: str = "") -> dict:
    """A record's scalars, one level of nested records spelled `outer.inner`; lists left out."""
    out = {}
    for key, value in record.items():
        if _scalar(value):
            out[prefix + key] = value
        elif isinstance(value, dict) and not prefix:
            out.update(_flat(value, f"{key}."))
    return out


def generic(data: dict, level: str = "###") -> list[str]:
    """Any results file: its scalars, then a table per list or mapping of records."""
    parts = []
    scalars = {k: v for k, v in data.items() if _scalar(v) and k not in {"note", "markdown"}}
    if scalars:
        parts.append(table(["measure", "value"], [[f"`{k}`", fmt(v)] for k, v in scalars.items()]))
    if isinstance(data.get("note"), str):
        parts.append(f"Note recorded with the results: {fmt(data['note'])}")
    for key, value in data.items():
        if key == "stamp":
            continue
        records = None
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            records = [("", _flat(v)) for v in value]
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            records = [(name, _flat(v)) for name, v in value.items()]
        elif isinstance(value, dict) and value:
            flat = _flat(value)
            if flat:
                parts += [
                    f"{level} `{key}`",
                    table(["measure", "value"], [[f"`{k}`", fmt(v)] for k, v in flat.items()]),
                ]
            continue
        if not records:
            continue
        columns = [
            c
            for c in dict.fromkeys(c for _, r in records for c in r)
            if not any(_unix_time(r.get(c)) for _, r in records)
        ][:16]
        named = any(name for name, _ in records)
        headers = ([""] if named else []) + [f"`{c}`" for c in columns]
        rows = [
            ([f"`{name}`"] if named else []) + [fmt(r.get(c)) for c in columns]
            for name, r in records[:MAX_ROWS]
        ]
        parts += [f"{level} `{key}`", table(headers, rows)]
        if len(records) > MAX_ROWS:
            parts.append(f"The first {MAX_ROWS} of {len(records)} rows; the rest are in the file.")
    return parts


def serving(data: dict) -> list[str]:
    rows = []
    for case in data["comparison"]:
        ours, bare, fastapi = case["ours"], case["bare"], case.get("fastapi")
        unit = case["unit"]
        rows.append(
            [
                f"`{case['case']}`",
                fmt(case["concurrency"]),
                unit.replace("_per_s", "/s"),
                fmt(ours[unit], "count"),
                fmt(bare[unit], "count"),
                fmt(fastapi[unit], "count") if fastapi else "–",
                fmt(case["throughput_ratio"], "percent"),
                fmt(case.get("over_fastapi"), "times") if fastapi else "–",
                f"{fmt(ours['p99_ms'])} / {fmt(bare['p99_ms'])}",
                " / ".join(fmt(s["server_cpu_ms_per_request"]) for s in (ours, bare)),
                fmt(ours["failed"]),
            ]
        )
    headers = [
        "route",
        "concurrency",
        "unit",
        "ours",
        "bare Starlette",
        "FastAPI + pipeline",
        "ours / bare",
        "ours / FastAPI",
        "p99 ms ours / bare",
        "server CPU ms a request, ours / bare",
        "failed (ours)",
    ]
    return [table(headers, rows), *generic({k: v for k, v in data.items() if k != "comparison"})]


def serving_replicas(data: dict) -> list[str]:
    rows = [
        [
            name,
            fmt(c["requests_per_s"], "count"),
            fmt(c["p50_ms"], "1"),
            fmt(c["p99_ms"], "1"),
            fmt(c["failed"]),
        ]
        for name, c in data["cases"].items()
    ]
    head = table(
        [f"`/predict`, concurrency {data['concurrency']}", "req/s", "p50 ms", "p99 ms", "failed"],
        rows,
    )
    return [head, *generic({k: v for k, v in data.items() if k != "cases"})]


def user_datasets(data: dict) -> list[str]:
    rows, counts = [], []
    for name, result in data.items():
        if name == "stamp":
            continue
        summary = result["summary"]
        after = summary.get("accuracy_after_shift", {})
        for strategy, accuracy in summary["mean_accuracy"].items():
            rows.append([f"`{name}`", strategy, fmt(accuracy, "3"), fmt(after.get(strategy), "3")])
        counts.append(
            [
                f"`{name}`",
                fmt(summary["days_replayed"]),
                fmt(summary["rows_per_day"]),
                fmt(summary["retrains_requested"]),
                fmt(summary["promotions"]),
                fmt(summary.get("days_from_shift_to_better_champion")),
                fmt(summary["quarantined_rows"]),
                fmt(summary["seconds"], "1"),
            ]
        )
    return [
        table(["dataset", "strategy", "mean prequential accuracy", "after the shift"], rows),
        table(
            [
                "dataset",
                "days",
                "rows a day",
                "retrains requested (loop)",
                "promoted",
                "days from shift to a better champion",
                "rows quarantined",
                "seconds",
            ],
            counts,
        ),
    ]


def continual_learning(data: dict) -> list[str]:
    rows = []
    for stream, result in data["streams"].items():
        for strategy, summary in result["summary"].items():
            rows.append(
                [
                    f"`{stream}`",
                    strategy,
                    fmt(summary["mean_accuracy"], "3"),
                    fmt(summary["after_drift_accuracy"], "3"),
                    fmt(summary["retrains"]),
                    fmt(summary["promotions"]),
                ]
            )
    head = table(
        ["stream", "strategy", "mean accuracy", "after each drift", "retrains", "promotions"], rows
    )
    return [head, *generic({"settings": data["settings"]})]


def _duckdb_note(data: dict) -> list[str]:
    measured, pinned = data.get("duckdb"), version("duckdb")
    if measured and measured != pinned:
        return [
            f'!!! warning "Another DuckDB"\n    Measured on DuckDB {measured}; '
            f"the project now pins {pinned}. These figures await a run on {pinned}."
        ]
    return [f"Measured on DuckDB {measured}."] if measured else []


def ingestion(data: dict) -> list[str]:
    rows = []
    for case in data["comparison"]:
        bare, ours = case["ceiling"], case["ingest_file"]
        rows.append(
            [
                case["format"],
                fmt(case["rows"]),
                fmt(case["file_mb"], "1"),
                fmt(bare["rows_per_s"], "count"),
                fmt(ours["rows_per_s"], "count"),
                fmt(case["ratio"], "2"),
                fmt(ours["peak_rss_mb"], "count"),
            ]
        )
    head = table(
        [
            "file",
            "rows",
            "MiB",
            "bare INSERT rows/s",
            "ingest_file rows/s",
            "ratio",
            "ingest_file peak RSS MiB",
        ],
        rows,
    )
    return [*_duckdb_note(data), head, *generic({"summary": data["summary"]})]


def ingestion_backends(data: dict) -> list[str]:
    rows = []
    for case in data["comparison"]:
        rows.append(
            [
                fmt(case["rows"]),
                fmt(case["file_mb"], "1"),
                *(
                    fmt(case[b]["rows_per_s"], "count")
                    for b in ("duckdb_file", "ducklake_folder", "ducklake_s3")
                ),
                fmt(case["ducklake_folder_ratio"], "2"),
                fmt(case["ducklake_s3_ratio"], "2"),
                " / ".join(
                    fmt(case[b]["open_seconds"], "2")
                    for b in ("duckdb_file", "ducklake_folder", "ducklake_s3")
                ),
            ]
        )
    head = table(
        [
            "rows",
            "MiB",
            "DuckDB file rows/s",
            "DuckLake folder rows/s",
            "DuckLake S3 rows/s",
            "folder / file",
            "S3 / file",
            "attach s (file / folder / S3)",
        ],
        rows,
    )
    return [*_duckdb_note(data), head]


VIEWS: dict[str, Callable[[dict], list[str]]] = {
    "serving": serving,
    "serving_replicas": serving_replicas,
    "user_datasets": user_datasets,
    "continual_learning": continual_learning,
    "ingestion": ingestion,
    "ingestion_backends": ingestion_backends,
}


def results_files() -> list[Path]:
    return sorted(RESULTS.glob("*.json"))


def section(path: Path) -> str:
    data = json.loads(path.read_text())
    name = path.stem
    parts = [f"## {name}", f"`benchmarks/results/{path.name}`"]
    if command := data.get("command") or COMMANDS.get(name):
        parts[-1] += f", written by `{command}`."
    parts.append(stamp_text(data.get("stamp")))
    parts += VIEWS.get(name, generic)(data)
    return "\n\n".join(parts) + "\n"


def benchmarks_page() -> str:
    """Every results file's section, in file order."""
    return "\n".join(section(path) for path in results_files())
