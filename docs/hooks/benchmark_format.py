"""How the benchmarks page writes a results file's values: numbers, tables, stamps, any record.

Every number is written with one of `FORMATS`, so a test can render each value of a file the
same ways and tell that every figure shown is in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

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
    said = [f"Measured at commit `{stamp['commit'][:12]}`"]
    if stamp.get("dirty"):
        said[0] += " with uncommitted changes"
    elif stamp.get("dirty") is None:
        said[0] += " (whether the tree had uncommitted changes is not recorded)"
    said[0] += f" on {stamp['date']}" if stamp.get("date") else " (date not recorded)"
    if stamp.get("uv_lock_sha256"):
        said.append(f"uv.lock sha256 `{stamp['uv_lock_sha256'][:12]}`")
    cpus = ", ".join(
        str(part) for part in (machine.get("cpu_model"), machine.get("platform")) if part
    )
    if machine.get("nproc"):
        cpus = f"{machine['nproc']} CPUs" + (f" ({cpus})" if cpus else "")
    if cpus:
        said.append(cpus)
    if machine.get("python"):
        said.append(f"Python {machine['python']}")
    if machine.get("load_average"):
        said.append("load average " + " / ".join(f"{x:.2f}" for x in machine["load_average"]))
    return "; ".join(said) + "."


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
