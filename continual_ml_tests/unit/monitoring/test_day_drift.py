"""One day's drift against its reference window: measured, recorded in DuckDB, and refused in
plain words when the reference window holds no rows."""

from datetime import date

import pytest

from continual_ml import warehouse
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.monitoring.day_drift import (
    NoReferenceRows,
    measure_day,
    reference_profile,
    rows_by_day,
)
from continual_ml.warehouse.sql import insert_frame


def land(conn, config, index: int) -> date:
    day = partition_date(config, index)
    insert_frame(conn, "observations", generate_batch(config, day).assign(partition_date=day))
    return day


def windows(conn, day: date, reference: tuple[date, date]) -> None:
    warehouse.record_window(conn, day, "current", day, day, None)
    warehouse.record_window(conn, day, "reference", *reference, None)


def test_rows_by_day_gives_each_day_its_own_rows(conn, config):
    days = [land(conn, config, i) for i in range(3)]
    for day in days:
        windows(conn, day, (days[0], days[0]))
    by_day = rows_by_day(conn, days)
    assert list(by_day) == days
    assert all(set(rows["partition_date"].dt.date) == {day} for day, rows in by_day.items())
    assert sum(len(rows) for rows in by_day.values()) == len(
        warehouse.read_rows(conn, "observations", days[0], days[-1])
    )


def test_a_drifted_day_is_measured_against_its_reference_and_recorded(conn, config, tmp_path):
    # Seeded stream: the days after `drift_day` move; the first days are the reference.
    reference = [land(conn, config, i) for i in range(3)]
    drifted = land(conn, config, config.stream.drift_day + 2)
    windows(conn, drifted, (reference[0], reference[-1]))
    current = rows_by_day(conn, [drifted])[drifted]
    measured = measure_day(conn, config, drifted, current, tmp_path / "report.html", {})
    assert measured.drifting and measured.summary.n_drifted >= 1
    assert measured.reference["start"] == reference[0]
    recorded = conn.execute(
        "SELECT drift_share, n_drifted FROM drift_reports WHERE partition_date = ?", [drifted]
    ).fetchall()
    assert recorded == [(measured.summary.drift_share, measured.summary.n_drifted)]


def test_an_empty_reference_window_is_refused_in_plain_words(conn, config):
    empty = {"start": date(2020, 1, 1), "end": date(2020, 1, 2), "n_rows": 0}
    with pytest.raises(NoReferenceRows, match="2020-01-01 .. 2020-01-02 has no observations"):
        reference_profile(conn, config, empty)
