"""A regression label is a finite number: observations and labels that are not are quarantined
with a reason, and the good ones land as DOUBLE."""

from datetime import date

import pandas as pd
import pytest

from continual_ml import ingestion
from continual_ml.ingestion.partition_checks import check_partition
from continual_ml.warehouse.sql import insert_frame
from continual_ml_tests.support.regression_data import regression_config, regression_days


@pytest.fixture
def config():
    """The regression dataset: the suite's `conn` applies its schema (labels as DOUBLE)."""
    return regression_config()


def reasons(conn) -> list[tuple]:
    return conn.execute(
        "SELECT row_id, reason FROM quarantined_rows ORDER BY row_number, row_id"
    ).fetchall()


def test_observations_with_a_label_that_is_not_a_finite_number_are_quarantined(
    conn, config, tmp_path
):
    rows = regression_days("2026-03-01", 1, seed=0).head(6).astype({"price": object})
    rows.loc[1, "price"] = "cheap"
    rows.loc[2, "price"] = "inf"
    rows.loc[3, "price"] = None  # not labelled yet: kept, waiting for its label
    rows.to_csv(tmp_path / "day.csv", index=False)
    report = ingestion.ingest_file(conn, config, tmp_path / "day.csv")
    assert (report.rows_good, report.rows_quarantined) == (4, 2)
    ids = rows["sale_id"].tolist()
    assert reasons(conn) == [
        (ids[1], "price: 'cheap' is not a number"),
        (ids[2], "price: 'inf' is not a finite number"),
    ]
    stored = conn.execute("SELECT row_id, price FROM observations ORDER BY 1").df()
    assert stored["price"].dtype == "float64"
    assert stored["price"].isna().sum() == 1


def test_labels_files_take_numbers_and_quarantine_the_rest(conn, config, tmp_path):
    path = tmp_path / "labels.csv"
    pd.DataFrame({"sale_id": ["a", "b", "c"], "price": ["12.5", "n/a", "-3"]}).to_csv(
        path, index=False
    )
    report = ingestion.ingest_labels(conn, config, path)
    assert (report.rows_good, report.rows_quarantined) == (2, 1)
    assert [r for _, r in reasons(conn)] == ["price: 'n/a' is not a number"]
    landed = conn.execute("SELECT row_id, label FROM labels ORDER BY row_id").fetchall()
    assert landed == [("a", 12.5), ("c", -3.0)]


def test_the_partition_check_counts_labels_that_are_not_finite(conn, config):
    rows = regression_days("2026-03-01", 1, seed=0).head(50)
    stored = rows.drop(columns=["sale_id", "sold_at"]).assign(
        row_id=rows["sale_id"],
        event_time=rows["sold_at"],
        partition_date=date(2026, 3, 1),
        batch_id="b",
    )
    insert_frame(conn, "observations", stored)
    day = date(2026, 3, 1)
    assert "label:domain" not in check_partition(conn, config, day)
    conn.execute(
        "UPDATE observations SET price = 'inf'::DOUBLE WHERE row_id IN (SELECT row_id "
        "FROM observations ORDER BY row_id LIMIT 2)"
    )
    assert check_partition(conn, config, day)["label:domain"] == 2
