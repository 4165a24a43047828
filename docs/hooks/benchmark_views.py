"""Tables for the results files whose shape a generic rendering would bury (wide or nested)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version

from benchmark_format import fmt, generic, table


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


def _shift_days(after: dict) -> str:
    """Days from each shift to a better champion; "none better" where no strategy found one."""
    days = after.get("days_to_better_champion") or []
    had = after.get("better_to_be_had") or [True] * len(days)
    cells = [
        "none better" if not h else "never" if d is None else fmt(d)
        for d, h in zip(days, had, strict=True)
    ]
    return " / ".join(cells) or "–"


def user_datasets(data: dict) -> list[str]:
    """The learning benchmark: each arm's prequential accuracy, and the loop's decisions."""
    arms, decisions = [], []
    for name, result in data["datasets"].items():
        summary = result["summary"]
        after = summary.get("after_shift") or {}
        for arm, accuracy in summary["accuracy_all_days"].items():
            after_shift = (after.get("accuracy") or {}).get(arm)
            fits = summary["fits"].get(arm)
            arms.append([f"`{name}`", arm, fmt(accuracy, "3"), fmt(after_shift, "3"), fmt(fits)])
        goal = summary.get("goal") or {}
        decisions.append(
            [
                f"`{name}`",
                fmt(summary["days"]),
                fmt(summary["rows"]),
                fmt(summary["retrains_requested"]),
                fmt(summary["promoted"]),
                _shift_days(after),
                ", ".join(k for k, met in goal.items() if met) or "–",
            ]
        )
    return [
        table(["dataset", "arm", "accuracy, all days", "after the shift", "fits"], arms),
        table(
            [
                "dataset",
                "days",
                "rows",
                "retrains requested (loop)",
                "promoted",
                "days from each shift to a better champion",
                "goals met",
            ],
            decisions,
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
    limit = f"DuckDB `memory_limit` {data['memory_limit']} in both cases."
    return [*_duckdb_note(data), limit, head, *generic({"summary": data["summary"]})]


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


def regression_loop(data: dict) -> list[str]:
    """Numeric targets through the loop: each arm's prequential MAE and RMSE, and the loop's
    retrains, the estimate's error before labels and the interval's coverage."""
    arms, loop = [], []
    for name, result in data["datasets"].items():
        summary = result["summary"]
        after = summary.get("after_shift") or {}
        for arm, mae in summary["all_days"]["mae"].items():
            arms.append(
                [f"`{name}`", arm, fmt(mae, "4"), fmt(summary["all_days"]["rmse"][arm], "4")]
                + [fmt((after.get(m) or {}).get(arm), "4") for m in ("mae", "rmse")]
            )
        retrains, estimate = summary["retrains"], summary["estimate_before_labels"]
        covered = summary["interval_coverage"]
        loop.append(
            [f"`{name}`", fmt(summary["days"]), fmt(retrains["requested"])]
            + [fmt(retrains["promoted"]), fmt(retrains["refused"])]
            + ["; ".join(f"{k} {fmt(v)}" for k, v in retrains["causes"].items()) or "–"]
            + [fmt(estimate["mean_abs_error"], "4"), fmt(covered["monitoring"], "4")]
        )
    return [
        table(["dataset", "arm", "MAE", "RMSE", "MAE after the shift", "RMSE after"], arms),
        table(
            [
                "dataset",
                "days",
                "retrains requested (loop)",
                "promoted",
                "refused",
                "causes",
                "estimate's mean abs. error (MAE)",
                "interval coverage",
            ],
            loop,
        ),
    ]


VIEWS: dict[str, Callable[[dict], list[str]]] = {
    "serving": serving,
    "serving_replicas": serving_replicas,
    "user_datasets": user_datasets,
    "user_datasets_partial": user_datasets,
    "user_datasets_no_change": user_datasets,
    "regression_loop": regression_loop,
    "regression_loop_partial": regression_loop,
    "continual_learning": continual_learning,
    "ingestion": ingestion,
    "ingestion_backends": ingestion_backends,
}
