"""The serving benchmark's results: a row per case, a markdown table, a line per swap run."""

from __future__ import annotations


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
    lines = [
        "| case | conc. | ours | bare | ours/bare | p50 ms ours / bare | p99 ms ours / bare "
        "| failed ours / bare | server CPU ms/req ours / bare | requests per merged call "
        "| FastAPI + pipeline | ours/FastAPI |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours, bare, unit = row["ours"], row["bare"], row["unit"]
        ratio = f"{row['throughput_ratio']:.0%}" if row["throughput_ratio"] is not None else "-"
        merged = row.get("requests_per_merged_call")
        lines.append(
            f"| `{row['case']}` ({'rows/s' if unit == 'rows_per_s' else 'req/s'}) "
            f"| {row['concurrency']} | {ours[unit]:,.0f} | {bare[unit]:,.0f} | {ratio} "
            f"| {ours['p50_ms']:.1f} / {bare['p50_ms']:.1f} "
            f"| {ours['p99_ms']:.1f} / {bare['p99_ms']:.1f} "
            f"| {ours['failed']} / {bare['failed']} "
            f"| {ours['server_cpu_ms_per_request']:.2f} / {bare['server_cpu_ms_per_request']:.2f} "
            f"| {'-' if merged is None else f'{merged:.1f}'} "
            + (
                f"| {row['fastapi'][unit]:,.0f} | {row['over_fastapi']:.1f}× |"
                if "fastapi" in row
                else "| - | - |"
            )
        )
    return "\n".join(lines)


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
