"""The drift share monitoring recorded per partition, as the retraining policy sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

HISTORY_DAYS = 60  # as far back as the retraining sensor reads its evidence


@dataclass(frozen=True)
class DriftDay:
    partition: str  # ISO date, as Dagster names the partition
    drift_share: float | None  # None: no feature could be tested
    validation_passed: bool


def drift_days(conn: duckdb.DuckDBPyConnection, up_to: date) -> list[DriftDay]:
    """Each monitored partition of the `HISTORY_DAYS` up to `up_to`, oldest first."""
    rows = conn.execute(
        """
        SELECT strftime(d.partition_date, '%Y-%m-%d'),
               CASE WHEN d.n_features = 0 THEN NULL ELSE d.drift_share END,
               coalesce(v.passed, true)
        FROM drift_reports d
        LEFT JOIN partition_validation v USING (partition_date)
        WHERE d.partition_date BETWEEN ? AND ?
        ORDER BY 1
        """,
        [up_to - timedelta(days=HISTORY_DAYS - 1), up_to],
    ).fetchall()
    return [DriftDay(p, share, bool(passed)) for p, share, passed in rows]
