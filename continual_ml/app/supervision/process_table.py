"""What Linux's /proc says of a process: its state, when it started, and who carries a mark.

Read directly rather than through psutil (a test-only dependency here); the live system runs on
Linux, where the supervisor and the orphan reaper need these. Elsewhere every answer is "unknown"
(None), and callers treat unknown as "leave it alone".
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    # The command name may hold spaces and parentheses: split after the last ")". The fields
    # after it start at field 3 (state) of proc(5).
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def state(pid: int) -> str | None:
    """One letter of proc(5): R running, S sleeping, T stopped, Z zombie...; None if gone."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def running(pid: int) -> bool:
    """The process exists and is not a zombie (dead, waiting for its parent to reap it)."""
    return state(pid) not in (None, "Z", "X")


def parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def stopped(pid: int) -> bool:
    """Stopped by a signal (SIGSTOP, SIGTSTP) or held by a debugger: it runs none of its code."""
    return state(pid) in ("T", "t")


def _boot_time() -> float:
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def started_at(pid: int) -> float | None:
    """When the process started, as a Unix time (to a clock tick); None if it is gone."""
    fields = _stat_fields(pid)
    if not fields:
        return None
    ticks = int(fields[19])  # field 22 of proc(5), starttime, in clock ticks since boot
    return _boot_time() + ticks / os.sysconf("SC_CLK_TCK")


def processes_with_env(entry: str) -> list[int]:
    """Processes whose environment holds `entry` ("NAME=value"), wherever they were reparented."""
    found, marker = [], entry.encode()
    for proc in PROC.iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found
