"""One look at the landing folder: what each entry is, and which files can be taken yet.

Cheap whatever the backlog: a stat per entry (and the last bytes of a Parquet file), no read of
a file's rows and no query of the run storage; the landing sensor does that work afterwards,
for a bounded number of the files this finds ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from continual_ml.defs.data.ingestion import LANDING_SUFFIXES
from continual_ml.defs.data.landing_cursor import LandingCursor, run_key, same_file
from continual_ml.ingestion.files import unlandable_reason
from continual_ml.ingestion.settling import Seen, parquet_complete, settle


@dataclass(frozen=True)
class Entry:
    path: Path
    kind: str  # "observations" or "labels"
    name: str  # relative to the landing folder, as messages show it
    key: str  # this version of the file (see `landing_cursor.run_key`)


@dataclass
class Scan:
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why it cannot be read
    settled: set[str] = field(default_factory=set)  # keys of files landed or given up on
    ready: list[Entry] = field(default_factory=list)  # stable and not settled: to look at
    settling: dict[str, float] = field(default_factory=dict)  # name -> seconds held so far
    changed: list[str] = field(default_factory=list)  # landed before, another version now
    seen: dict[str, Seen] = field(default_factory=dict)
    settled_names: set[str] = field(default_factory=set)  # settled this tick: they leave `seen`


def listed(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in LANDING_SUFFIXES)


def scan_landing(root: Path, cursor: LandingCursor, now: float, settle_seconds: float) -> Scan:
    """Sort the landing folder's entries (observations at its top, labels in `labels/`)."""
    scan = Scan()
    entries = [(p, "observations") for p in listed(root)]
    entries += [(p, "labels") for p in listed(root / "labels")]
    landed_before = {same_file(key) for key in cursor.settled}
    current, by_name, complete = {}, {}, set()
    for path, kind in entries:
        name = str(path.relative_to(root))
        reason = unlandable_reason(path)
        try:
            info = None if reason else path.stat()
        except OSError as error:  # gone or changed between the listing and now
            reason = f"gone before it could be read ({error.strerror or error})"
        if reason:
            scan.skipped[name] = reason
            continue
        key = run_key(kind, path.name, info.st_size, info.st_mtime_ns)
        if key in cursor.settled:
            scan.settled.add(key)
            continue
        if same_file(key) in landed_before:
            scan.changed.append(name)
        current[name] = (info.st_size, info.st_mtime_ns)
        by_name[name] = Entry(path, kind, name, key)
        if path.suffix.lower() != ".csv" and parquet_complete(path):
            complete.add(name)
    settling = settle(cursor.seen, current, now, settle_seconds, frozenset(complete))
    scan.ready = [by_name[name] for name in settling.ready]
    scan.settling, scan.seen = settling.waiting, settling.state
    return scan


def settling_note(settling: dict[str, float], settle_seconds: float, shown: int = 10) -> str:
    """Which files still settle, for the skip reason.

    >>> settling_note({"b.csv": 4.2, "a.csv": 0.0}, 10)
    'still settling (size and mtime must hold 10 s): a.csv (held 0 s), b.csv (held 4 s)'
    """
    names = sorted(settling)
    listed_names = ", ".join(f"{n} (held {settling[n]:.0f} s)" for n in names[:shown])
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"still settling (size and mtime must hold {settle_seconds:g} s): {listed_names}{more}"
