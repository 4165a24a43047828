"""`continual-ml backfill` without a range covers the days that hold data, not every calendar
day between the first and the last (1,097 days for data on 4 took 12 min 40 s)."""

from datetime import date

import pandas as pd
import pytest

from continual_ml import ingestion
from continual_ml.app.backfill import backfill_ranges, backfill_summary
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.warehouse.connection import warehouse_connection, warehouse_location
from continual_ml.warehouse.schema import apply_schema

DATA_DAYS = ["2024-01-01", "2024-01-02", "2025-07-01", "2026-12-31"]


@pytest.fixture
def four_days_of_data(home, config, tmp_path):
    """Observations on four days spread over three years, ingested into the home's warehouse."""
    rows = generate_batch(config, partition_date(config, 0)).head(8).reset_index(drop=True)
    rows[config.event_time_column] = pd.to_datetime(DATA_DAYS * 2) + pd.Timedelta(hours=12)
    rows.to_csv(tmp_path / "history.csv", index=False)
    with warehouse_connection(warehouse_location(home)) as conn:
        apply_schema(conn, config)
        report = ingestion.ingest_file(conn, config, tmp_path / "history.csv")
    assert report.rows_good == 8 and sorted(map(str, report.partitions)) == DATA_DAYS
    return home


def monitored_days(ranges) -> int:
    return sum((end - start).days + 1 for start, end in ranges)


def test_without_a_range_only_the_days_with_data_are_monitored(four_days_of_data):
    ranges = backfill_ranges(four_days_of_data, None, None)
    assert ranges == [
        (date(2024, 1, 1), date(2024, 1, 2)),
        (date(2025, 7, 1), date(2025, 7, 1)),
        (date(2026, 12, 31), date(2026, 12, 31)),
    ]
    assert monitored_days(ranges) == 4  # not the 1,096 calendar days from first to last
    summary = backfill_summary(ranges, ["a", "b", "c"])
    assert summary.startswith("monitored 4 days, 2024-01-01 .. 2026-12-31, in 3 runs")
    assert "1092 days without observations between them were skipped" in summary


def test_one_end_given_keeps_the_days_with_data_on_the_other_side(four_days_of_data):
    assert backfill_ranges(four_days_of_data, "2025-01-01", None) == [
        (date(2025, 7, 1), date(2025, 7, 1)),
        (date(2026, 12, 31), date(2026, 12, 31)),
    ]
    with pytest.raises(ValueError, match="no ingested day between 2027-01-01 and"):
        backfill_ranges(four_days_of_data, "2027-01-01", None)


def test_both_ends_given_are_monitored_as_asked(four_days_of_data):
    assert backfill_ranges(four_days_of_data, "2025-06-01", "2025-07-02") == [
        (date(2025, 6, 1), date(2025, 7, 2))
    ]
