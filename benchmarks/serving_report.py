"""The serving benchmark's results: a row per case, a markdown table, a line per swap run."""

from __future__ import annotations

from benchmarks import tables


def comparison_row(case, ours: dict, bare: dict, fastapi: dict | None = None) -> dict:
    """Ours and bare on one `serving.Case`, and ours' throughput as a share of bare's."""
    plain = (
        {"fastapi": fastapi, "over_fastapi": ours[case.unit] / fastapi[case.unit]}
        if fastapi and fastapi[case.unit]
        else {}
    )
    return {
        **plain,
        "case": case.label,
        "path": ours["path"],
        "bare_path": bare["path"],
        "concurrency": case.concurrency,
        "unit": case.unit,
        "ours": ours,
        "bare": bare,
        "throughput_ratio": ours[case.unit] / bare[case.unit] if bare[case.unit] else None,
    }


def markdown_table(rows: list[dict]) -> str:
    header = ["case", "conc.", "ours", "bare", "ours/bare", "p50 ms ours / bare"]
    header += ["p99 ms ours / bare", "failed ours / bare", "server CPU ms/req ours / bare"]
    header += ["requests per merged call", "FastAPI + pipeline", "ours/FastAPI"]
    return tables.markdown_table(header, map(_cells, rows), "l" + "r" * 11)


def _cells(row: dict) -> list[str]:
    ours, bare, unit = row["ours"], row["bare"], row["unit"]
    merged = row.get("requests_per_merged_call")
    return [
        f"`{row['case']}` ({'rows/s' if unit == 'rows_per_s' else 'req/s'})",
        str(row["concurrency"]),
        f"{ours[unit]:,.0f}",
        f"{bare[unit]:,.0f}",
        f"{row['throughput_ratio']:.0%}" if row["throughput_ratio"] is not None else "-",
        f"{ours['p50_ms']:.1f} / {bare['p50_ms']:.1f}",
        f"{ours['p99_ms']:.1f} / {bare['p99_ms']:.1f}",
        f"{ours['failed']} / {bare['failed']}",
        f"{ours['server_cpu_ms_per_request']:.2f} / {bare['server_cpu_ms_per_request']:.2f}",
        "-" if merged is None else f"{merged:.1f}",
        f"{row['fastapi'][unit]:,.0f}" if "fastapi" in row else "-",
        f"{row['over_fastapi']:.1f}×" if "fastapi" in row else "-",
    ]


def swap_line(swaps: dict) -> str:
    sequences = ", ".join(f"{k} ({n})" for k, n in swaps["worker_version_sequences"].items())
    waits = ", ".join(
        f"v{p['version']} served {p['seconds_to_serve']:.2f}s after promotion"
        if p["seconds_to_serve"] is not None
        else f"v{p['version']} never served"
        for p in swaps["promotions"]
    )
    return (
        f"\nswap under load (ours {swaps['path']}, c={swaps['concurrency']}): "
        f"{swaps['succeeded']:,} ok, {swaps['failed']} failed, "
        f"{swaps['requests_per_s']:,.0f} req/s, p99 {swaps['p99_ms']:.1f} ms; "
        f"versions each worker saw: {sequences}; {waits}; "
        f"/model says v{swaps['served_version_after']}"
    )
