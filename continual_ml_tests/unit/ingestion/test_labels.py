"""Labels whose rows were quarantined are counted as such and not waited for: every label keyed
by a row id is matched, waiting, or for a quarantined row, and the counts add up."""

import pandas as pd
import pytest

from continual_ml import ingestion
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.ingestion.ledger import label_counts


@pytest.fixture
def day(config, tmp_path):
    """Ten rows of one day, the first two refused (a feature that is not a number)."""
    rows = generate_batch(config, partition_date(config, 0)).head(10).reset_index(drop=True)
    rows = rows.astype({"x0": object})
    rows.loc[:1, "x0"] = "abc"
    rows.to_csv(tmp_path / "day.csv", index=False)
    return rows["row_id"].tolist()


def labels_file(tmp_path, ids: list[str]):
    path = tmp_path / f"labels-{len(ids)}-{ids[0]}.csv"
    pd.DataFrame({"row_id": ids, "label": 1}).to_csv(path, index=False)
    return path


def test_a_label_for_a_quarantined_row_is_not_waiting(conn, config, tmp_path, day):
    rows = ingestion.ingest_file(conn, config, tmp_path / "day.csv")
    assert (rows.rows_in, rows.rows_good, rows.rows_quarantined) == (10, 8, 2)
    labelled = [day[0], day[1], day[5], "not-seen-yet"]  # 2 quarantined, 1 landed, 1 unknown
    report = ingestion.ingest_labels(conn, config, labels_file(tmp_path, labelled))
    assert report.rows_good == 4
    assert (report.waiting, report.for_quarantined_rows) == (1, 2)
    assert "2 for quarantined rows (not waited for)" in report.summary()
    counts = label_counts(conn)
    assert (counts.matched, counts.waiting, counts.for_quarantined_rows) == (1, 1, 2)
    assert counts.labels == counts.matched + counts.waiting + counts.for_quarantined_rows == 4


def test_labels_that_came_first_stop_waiting_once_their_rows_are_quarantined(
    conn, config, tmp_path, day
):
    ingestion.ingest_labels(conn, config, labels_file(tmp_path, [day[0], day[5]]))
    assert label_counts(conn).as_metadata() == {
        "labels_in": 2,
        "labels_matched": 0,
        "labels_waiting": 2,
        "labels_for_quarantined_rows": 0,
    }
    ingestion.ingest_file(conn, config, tmp_path / "day.csv")
    counts = label_counts(conn)
    assert (counts.labels, counts.matched, counts.waiting, counts.for_quarantined_rows) == (
        2,
        1,
        0,
        1,
    )
