"""The rows Evidently's report is drawn from, kept beside the reports as Parquet.

Monitoring writes them while it holds the warehouse (a few milliseconds a day); rendering reads
them back without opening the warehouse, so Evidently's seconds a report never keep the one
DuckDB writer, and the landed days waiting for it, busy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

# Evidently renders the human-readable report; on big batches a seeded sample keeps it quick.
SAMPLE_ROWS = 5000


def sample(rows: pd.DataFrame, n: int = SAMPLE_ROWS) -> pd.DataFrame:
    """At most `n` rows, the same ones every time for the same rows."""
    return rows if len(rows) <= n else rows.sample(n=n, random_state=0)


@dataclass(frozen=True)
class ReportSamples:
    """Where one day's samples live: `<folder>/<day>.current.parquet` and `.reference.parquet`."""

    folder: Path
    day: date

    def path(self, kind: str) -> Path:
        return self.folder / f"{self.day.isoformat()}.{kind}.parquet"

    def save(self, reference: pd.DataFrame, current: pd.DataFrame) -> None:
        """Write both samples; a reader never sees half a file (written aside, then renamed)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for kind, rows in (("reference", reference), ("current", current)):
            final = self.path(kind)
            partial = final.with_name(final.name + ".partial")
            sample(rows).to_parquet(partial, index=False)
            partial.replace(final)

    def load(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """(reference, current), or None when monitoring has not written them (yet)."""
        paths = [self.path("reference"), self.path("current")]
        if not all(path.exists() for path in paths):
            return None
        try:
            reference, current = (pd.read_parquet(path) for path in paths)
        except FileNotFoundError:  # pruned by a newer day's monitoring meanwhile
            return None
        return reference, current


def prune_samples(folder: Path, keep: int) -> list[Path]:
    """Delete the samples of all but the `keep` newest days in `folder`; the deleted."""
    samples = list(folder.glob("*.parquet"))
    days = sorted({path.name.split(".")[0] for path in samples})
    stale = set(days[: max(0, len(days) - keep)])
    removed = [path for path in samples if path.name.split(".")[0] in stale]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
