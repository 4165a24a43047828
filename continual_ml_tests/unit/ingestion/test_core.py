"""Ingesting observation files: rules, quarantine, corrupt files, exactly-once and atomicity."""

import json
import textwrap
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from continual_ml import ingestion
from continual_ml.config import DatasetConfig
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.serving.prediction_log import RotatingJsonlWriter, closed_logs
from continual_ml_tests.support.ingestion_files import (
    N_ROWS,
    assert_intact,
    day_rows,
    feedback_record,
    prediction_record,
    stored,
    write_csv,
)


@pytest.fixture
def conn(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def quarantined(conn) -> list[tuple]:
    return conn.execute(
        "SELECT row_id, reason FROM quarantined_rows ORDER BY row_number, row_id, reason"
    ).fetchall()


def assert_accounted(conn, report):
    """Rows in = good + quarantined, in the report and in the tables."""
    assert report.status == "ingested"
    assert report.rows_in == report.rows_good + report.rows_quarantined
    recorded = conn.execute(
        "SELECT rows_in, rows_good, rows_quarantined FROM ingested_files WHERE ingestion_id = ?",
        [report.ingestion_id],
    ).fetchone()
    assert recorded == (report.rows_in, report.rows_good, report.rows_quarantined)
    in_quarantine = conn.execute(
        "SELECT count(*) FROM quarantined_rows WHERE ingestion_id = ?", [report.ingestion_id]
    ).fetchone()[0]
    assert in_quarantine == report.rows_quarantined


BAD_CELLS = [
    ("x3", "abc", "x3: 'abc' is not a number"),
    ("x0", "", "x0: missing value"),
    ("x4", "inf", "x4: 'inf' is not a finite number"),
    ("segment", "up", "segment: unknown category 'up'"),
    ("label", "7", "label: '7' is not one of the classes 0, 1"),
    ("label", "0.5", "label: '0.5' is not one of the classes 0, 1"),
    ("event_time", "yesterday", "event_time: 'yesterday' is not a timestamp"),
    ("event_time", "", "event_time: missing value"),
    ("row_id", "", "row_id: missing id"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_CELLS)
def test_a_bad_cell_quarantines_its_row_with_the_reason_and_keeps_the_rest(
    conn, config, tmp_path, column, value, reason
):
    rows = day_rows(config).astype({column: object})
    bad = rows.index[[3, 11]]
    rows.loc[bad, column] = value
    report = ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    assert_accounted(conn, report)
    assert (report.rows_in, report.rows_good, report.rows_quarantined) == (N_ROWS, N_ROWS - 2, 2)
    assert [r for _, r in quarantined(conn)] == [reason, reason]
    assert_intact(conn, day_rows(config).drop(index=bad), config)


def test_several_problems_in_one_row_are_all_named(conn, config, tmp_path):
    rows = day_rows(config).astype({"x3": object})
    rows.loc[0, ["x3", "segment", "label"]] = ["abc", "up", 9]
    report = ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    assert quarantined(conn) == [
        (
            rows.loc[0, "row_id"],
            "x3: 'abc' is not a number; segment: unknown category 'up'; "
            "label: '9' is not one of the classes 0, 1",
        )
    ]
    assert report.rule_counts == {"label:class": 1, "segment:category": 1, "x3:type": 1}


def test_a_file_without_labels_lands_unlabelled_and_integral_labels_are_classes(
    conn, config, tmp_path
):
    rows = day_rows(config).drop(columns=["label"])
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "unlabelled.csv", rows))
    assert stored(conn)["label"].isna().all()
    labelled = day_rows(config, 1).astype({"label": float})  # written as 0.0 / 1.0
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "labelled.csv", labelled))
    day_two = stored(conn).dropna(subset=["label"])
    assert day_two["label"].tolist() == labelled.sort_values("row_id")["label"].tolist()


def test_ids_repeated_in_the_file_quarantine_every_copy(conn, config, tmp_path):
    rows = day_rows(config)
    rows.loc[5, "row_id"] = rows.loc[2, "row_id"]
    report = ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    repeated = rows.loc[2, "row_id"]
    assert (
        quarantined(conn) == [(repeated, f"row_id: '{repeated}' appears 2 times in this file")] * 2
    )
    assert report.rows_good == N_ROWS - 2
    assert_intact(conn, rows.drop(index=[2, 5]), config)


def test_ids_already_in_the_warehouse_are_quarantined(conn, config, tmp_path):
    rows = day_rows(config)
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "first.csv", rows.iloc[:10]))
    report = ingestion.ingest_file(conn, config, write_csv(tmp_path / "second.csv", rows.iloc[5:]))
    assert (report.rows_good, report.rows_quarantined) == (N_ROWS - 10, 5)
    assert [r for _, r in quarantined(conn)] == [
        f"row_id: '{i}' is already in observations" for i in rows["row_id"].iloc[5:10]
    ]
    assert_intact(conn, rows, config)


def test_event_times_are_read_as_utc_and_set_the_partition(conn, config, tmp_path):
    conn.execute("SET TimeZone = 'America/New_York'")
    rows = day_rows(config).astype({"event_time": object})
    rows.loc[0, "event_time"] = "2026-01-01T23:30:00-02:00"  # 01:30 UTC on the 2nd
    rows.loc[1, "event_time"] = "2026-01-01 23:30:00"  # naive: taken as UTC
    report = ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    times = stored(conn).set_index("row_id")[["event_time", "partition_date"]]
    assert times.loc[rows.loc[0, "row_id"]].tolist() == [
        pd.Timestamp("2026-01-02 01:30:00"),
        pd.Timestamp("2026-01-02"),
    ]
    assert times.loc[rows.loc[1, "row_id"], "event_time"] == pd.Timestamp("2026-01-01 23:30:00")
    assert report.partitions == {date(2026, 1, 1): N_ROWS - 1, date(2026, 1, 2): 1}
    assert conn.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "America/New_York"


def test_bounds_nullable_and_boolean_features_follow_the_config(conn, config, tmp_path):
    custom = DatasetConfig.model_validate(
        {
            "name": "bounded",
            "features": [
                {"name": "x0", "kind": "numeric", "min": -1, "max": 1},
                {"name": "x1", "kind": "numeric", "nullable": True},
                {"name": "flag", "kind": "boolean"},
            ],
        }
    )
    text = """\
        row_id,event_time,x0,x1,flag,label
        a,2026-01-01 01:00:00,0.5,,true,1
        b,2026-01-01 02:00:00,1.5,2,false,0
        c,2026-01-01 03:00:00,-3,2,yes,0
        d,2026-01-01 04:00:00,0,2,maybe,1
        """
    path = tmp_path / "bounded.csv"
    path.write_text(textwrap.dedent(text))
    report = ingestion.ingest_file(conn, custom, path)
    assert_accounted(conn, report)
    assert quarantined(conn) == [
        ("b", "x0: '1.5' is above the maximum 1"),
        ("c", "x0: '-3' is below the minimum -1"),
        ("d", "flag: 'maybe' is not a boolean"),
    ]
    assert conn.execute("SELECT row_id, x1, flag FROM observations").fetchall() == [
        ("a", None, True)
    ]


def test_csv_lines_that_do_not_parse_are_quarantined_with_their_text(conn, config, tmp_path):
    path = write_csv(tmp_path / "day.csv", day_rows(config))
    lines = path.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:4])  # too few fields
    lines[8] = lines[8] + ",surplus"  # too many
    path.write_text("\n".join(lines) + "\n")
    report = ingestion.ingest_file(conn, config, path)
    assert_accounted(conn, report)
    assert (report.rows_in, report.rows_quarantined) == (N_ROWS, 2)
    rows = conn.execute(
        "SELECT row_number, raw, reason FROM quarantined_rows ORDER BY row_number"
    ).fetchall()
    assert [(n, raw) for n, raw, _ in rows] == [(4, f'"{lines[3]}"'), (9, f'"{lines[8]}"')]
    assert rows[0][2].startswith("line 4: missing columns")
    assert rows[1][2].startswith("line 9: too many columns")
    assert_intact(conn, day_rows(config).drop(index=[2, 7]), config)


def test_parquet_rows_are_checked_with_their_row_numbers(conn, config, tmp_path):
    rows = day_rows(config)
    rows.loc[4, "x1"] = np.inf
    rows.loc[9, "segment"] = "up"
    rows.to_parquet(tmp_path / "day.parquet")
    report = ingestion.ingest_file(conn, config, tmp_path / "day.parquet")
    assert_accounted(conn, report)
    assert conn.execute(
        "SELECT row_number, reason FROM quarantined_rows ORDER BY row_number"
    ).fetchall() == [
        (5, "x1: 'inf' is not a finite number"),
        (10, "segment: unknown category 'up'"),
    ]
    assert_intact(conn, rows.drop(index=[4, 9]), config)


def _truncated_parquet(tmp_path, config):
    day_rows(config).to_parquet(tmp_path / "whole.parquet")
    data = (tmp_path / "whole.parquet").read_bytes()
    return data[: len(data) // 2]


CORRUPT_FILES = [
    ("truncated.parquet", _truncated_parquet, "not a Parquet file: no PAR1 magic bytes at the end"),
    ("empty.csv", lambda *_: b"", "empty file (0 bytes)"),
    (
        "garbage.csv",
        lambda *_: np.random.default_rng(0).bytes(4096),
        "binary data, not UTF-8 text: a NUL byte",
    ),
    (
        "utf16.csv",
        lambda tmp_path, config: day_rows(config).to_csv(index=False).encode("utf-16"),
        "UTF-16 text",
    ),
    (
        "latin1.csv",
        lambda tmp_path, config: (
            day_rows(config)
            .replace({"segment": {"north": "nörth"}})
            .to_csv(index=False)
            .encode("latin-1")
        ),
        "not UTF-8 text: byte 0xf6",
    ),
    (
        "semicolons.csv",
        lambda tmp_path, config: day_rows(config).to_csv(index=False, sep=";").encode(),
        "missing required columns row_id, event_time, x0, x1, x2, x3, x4, segment",
    ),
    ("day.xlsx", lambda tmp_path, config: b"PK\x03\x04 not really", "unsupported file type"),
]


@pytest.mark.parametrize(("name", "content", "reason"), CORRUPT_FILES)
def test_an_unreadable_file_is_quarantined_whole_without_raising(
    conn, config, tmp_path, name, content, reason
):
    path = tmp_path / name
    path.write_bytes(content(tmp_path, config))
    report = ingestion.ingest_file(conn, config, path)
    assert report.status == "quarantined"
    assert reason in report.reason
    assert conn.execute("SELECT path, reason FROM quarantined_files").fetchall() == [
        (str(path), report.reason)
    ]
    assert conn.execute("SELECT count(*) FROM observations").fetchone()[0] == 0
    again = ingestion.ingest_file(conn, config, path)
    assert again.status == "skipped" and again.reason.startswith("already quarantined")
    assert conn.execute("SELECT count(*) FROM quarantined_files").fetchone()[0] == 1


def test_a_wrong_delimiter_is_suggested(conn, config, tmp_path):
    path = tmp_path / "semicolons.csv"
    day_rows(config).to_csv(path, index=False, sep=";")
    report = ingestion.ingest_file(conn, config, path)
    assert report.reason.endswith("is the file delimited by something other than ','?)")


def test_parquet_with_a_column_of_the_wrong_type_is_quarantined(conn, config, tmp_path):
    rows = day_rows(config)
    rows["x0"] = pd.Timestamp("2026-01-01")
    rows.to_parquet(tmp_path / "dates.parquet")
    report = ingestion.ingest_file(conn, config, tmp_path / "dates.parquet")
    assert report.status == "quarantined"
    assert report.reason.startswith("x0 is TIMESTAMP")
    assert report.reason.endswith("which cannot hold a number")


def test_parquet_that_breaks_mid_scan_leaves_nothing_behind(conn, config, tmp_path):
    path = tmp_path / "broken.parquet"
    day_rows(config, n=2000).to_parquet(path, row_group_size=500)
    metadata = pq.ParquetFile(path).metadata
    # the page header of x0 in the last row group: the footer and the first row groups read
    # fine, so the failure comes part-way through the scan
    offset = metadata.row_group(metadata.num_row_groups - 1).column(1).data_page_offset
    data = bytearray(path.read_bytes())
    data[offset : offset + 16] = bytes(b ^ 0xFF for b in data[offset : offset + 16])
    path.write_bytes(bytes(data))
    report = ingestion.ingest_file(conn, config, path)
    assert report.status == "quarantined"
    assert report.reason.startswith("unreadable parquet file")
    assert conn.execute("SELECT count(*) FROM observations").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM quarantined_rows").fetchone()[0] == 0


def test_a_header_only_file_is_ingested_as_empty(conn, config, tmp_path):
    path = write_csv(tmp_path / "header.csv", day_rows(config).head(0))
    report = ingestion.ingest_file(conn, config, path)
    assert (report.status, report.rows_in, report.partitions) == ("ingested", 0, {})


def test_the_same_file_twice_is_ingested_once(conn, config, tmp_path):
    rows = day_rows(config)
    first = ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    second = ingestion.ingest_file(conn, config, tmp_path / "day.csv")
    renamed = ingestion.ingest_file(conn, config, write_csv(tmp_path / "copy.csv", rows))
    assert first.status == "ingested"
    assert second.status == renamed.status == "skipped"
    assert f"ingestion {first.ingestion_id}" in second.reason
    assert conn.execute("SELECT count(*) FROM ingested_files").fetchone()[0] == 1
    assert_intact(conn, rows, config)


def _ingest_with_failure(conn, config, path, failing_step):
    def interrupt(step):
        if step == failing_step:
            raise RuntimeError(f"killed after {step}")

    with pytest.raises(RuntimeError, match="killed"):
        ingestion.ingest_file(conn, config, path, on_step=interrupt)


@pytest.mark.parametrize("failing_step", ["keys", "written", "quarantined", "recorded"])
def test_an_interrupted_ingestion_leaves_the_warehouse_as_it_was(
    conn, config, tmp_path, failing_step
):
    old = day_rows(config).iloc[:10]
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "old.csv", old))
    new = day_rows(config).iloc[10:].astype({"x3": object})
    new.loc[12, "x3"] = "abc"
    path = write_csv(tmp_path / "new.csv", new)
    _ingest_with_failure(conn, config, path, failing_step)
    assert_intact(conn, old, config)
    assert conn.execute("SELECT count(*) FROM quarantined_rows").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM ingested_files").fetchone()[0] == 1
    retried = ingestion.ingest_file(conn, config, path)
    assert (retried.status, retried.rows_good, retried.rows_quarantined) == ("ingested", 9, 1)


def test_replacing_partitions_swaps_them_whole_without_duplicates(conn, config, tmp_path):
    days = [day_rows(config, i) for i in range(3)]
    for i, rows in enumerate(days):
        ingestion.ingest_file(conn, config, write_csv(tmp_path / f"day{i}.csv", rows))
    corrected = days[1].iloc[:15].assign(x0=42.0)
    path = write_csv(tmp_path / "day1-fixed.csv", corrected)
    report = ingestion.replace_partitions_from_file(conn, config, path)
    assert (report.mode, report.replaced, report.rows_good) == (
        "replace",
        (days[1].loc[0, "event_time"].date(),),
        15,
    )
    assert_intact(conn, pd.concat([days[0], corrected, days[2]]), config)
    # the replacement is recorded, so the sensor seeing the same file later does nothing
    assert ingestion.ingest_file(conn, config, path).status == "skipped"
    again = ingestion.replace_partitions_from_file(conn, config, path)
    assert again.status == "ingested"
    assert_intact(conn, pd.concat([days[0], corrected, days[2]]), config)


def test_an_interrupted_replacement_keeps_the_old_partition(conn, config, tmp_path):
    old = day_rows(config)
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "old.csv", old))
    path = write_csv(tmp_path / "fixed.csv", old.assign(x0=42.0))

    def interrupt(step):
        if step == "written":
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        ingestion.replace_partitions_from_file(conn, config, path, on_step=interrupt)
    assert_intact(conn, old, config)


def test_replacing_one_partition_quarantines_rows_of_other_days(conn, config, tmp_path):
    rows = pd.concat([day_rows(config, 0), day_rows(config, 1).head(2)])
    day = partition_date(config, 0)
    path = write_csv(tmp_path / "mixed.csv", rows)
    report = ingestion.replace_partitions_from_file(conn, config, path, partition=day)
    assert report.replaced == (day,) and report.rows_good == N_ROWS
    reasons = [r for _, r in quarantined(conn)]
    assert len(reasons) == 2
    assert all(r.endswith(f"is outside the partition {day} being replaced") for r in reasons)


def test_a_batch_id_column_is_kept_and_the_source_names_the_rest(conn, config, tmp_path):
    rows = day_rows(config)
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "a.csv", rows.iloc[:5]))
    no_batch = rows.iloc[5:].drop(columns=["batch_id"])
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "b.csv", no_batch), source="upload-7")
    batches = conn.execute("SELECT DISTINCT batch_id FROM observations ORDER BY 1").fetchall()
    assert batches == [(rows.loc[0, "batch_id"],), ("upload-7",)]


def test_the_report_summary_names_the_counts_and_rules(conn, config, tmp_path):
    rows = day_rows(config).astype({"x3": object})
    rows.loc[0, "x3"] = "abc"
    report = ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    assert report.summary() == (
        f"day.csv: {N_ROWS} rows, {N_ROWS - 1} good into 2026-01-01, 1 quarantined (x3:type 1)"
    )


def labels_csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_late_labels_join_the_newest_wins_and_only_labelled_rows_train(conn, config, tmp_path):
    rows = day_rows(config).astype({"label": object})
    rows.loc[10:, "label"] = ""  # arrives unlabelled
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    ids = rows["row_id"].tolist()
    first_label = int(rows.loc[0, "label"])
    text = f"""\
        row_id,label,labelled_at
        {ids[10]},1,2026-01-02 08:00:00
        {ids[11]},0,2026-01-02 08:00:00
        {ids[0]},{1 - first_label},2026-01-05 00:00:00
        {ids[0]},{first_label},2026-01-03 00:00:00
        {ids[12]},3,2026-01-02 08:00:00
        nope,1,2026-01-02 08:00:00
        {ids[13]},1,2026-01-02 08:00:00
        {ids[13]},0,2026-01-02 08:00:00
        """
    report = ingestion.ingest_labels(conn, config, labels_csv(tmp_path, "labels.csv", text))
    assert_accounted(conn, report)
    assert (report.rows_good, report.rows_quarantined) == (5, 3)
    assert report.waiting == 1  # `nope` is kept until a row with that id lands
    assert report.partitions == {partition_date(config, 0): 4}
    assert quarantined(conn) == [
        (ids[12], "label: '3' is not one of the classes 0, 1"),
        (ids[13], f"row_id: '{ids[13]}' is labelled 2 times in this file at the same labelled_at"),
        (ids[13], f"row_id: '{ids[13]}' is labelled 2 times in this file at the same labelled_at"),
    ]
    day = partition_date(config, 0)
    training = ingestion.labelled_rows(conn, config, day, day).set_index("row_id")["label"]
    assert sorted(training.index) == sorted(ids[:12])
    assert training[ids[0]] == 1 - first_label  # the later labelled_at wins over the earlier
    assert (training[ids[10]], training[ids[11]]) == (1, 0)
    assert training[ids[5]] == rows.loc[5, "label"]
    # labels are a history next to observations, which keep what the file said
    kept = conn.execute("SELECT label FROM observations WHERE row_id = ?", [ids[0]]).fetchone()
    assert kept == (first_label,)
    assert ingestion.ingest_labels(conn, config, tmp_path / "labels.csv").status == "skipped"


def test_a_later_label_file_overrides_an_earlier_one(conn, config, tmp_path):
    rows = day_rows(config)
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    row_id = rows.loc[3, "row_id"]
    for name, label in (("monday.csv", 1), ("tuesday.csv", 0)):
        text = f"row_id,label\n{row_id},{label}\n"
        ingestion.ingest_labels(conn, config, labels_csv(tmp_path, name, text))
    day = partition_date(config, 0)
    training = ingestion.labelled_rows(conn, config, day, day).set_index("row_id")["label"]
    assert training[row_id] == 0


def write_log(path, records, extra_lines=()):
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def features(config):
    return day_rows(config, n=1)[config.feature_names].iloc[0].to_dict()


def test_a_prediction_log_lands_once_and_joins_its_feedback(conn, config, tmp_path, features):
    records = [
        prediction_record("p1", features),
        prediction_record("p2", features),
        prediction_record("p3", features, served_at="2026-01-10T00:30:00+01:00"),  # the 9th in UTC
        feedback_record("p1", 0),
        prediction_record("p4", features | {"x0": "abc"}, probabilities={"0": 0.5, "1": 0.9}),
        feedback_record("p9", 1),
        {"kind": "retraction", "prediction_id": "p2"},
    ]
    path = write_log(tmp_path / "predictions-1.jsonl", records, extra_lines=["{not json", ""])
    report = ingestion.ingest_prediction_log(conn, config, path)
    assert_accounted(conn, report)
    # feedback for p9, whose prediction has not landed, waits for it
    assert (report.rows_in, report.rows_good, report.rows_quarantined) == (8, 5, 3)
    assert report.waiting == 1
    assert report.partitions == {date(2026, 1, 9): 3}
    reasons = dict(conn.execute("SELECT raw, reason FROM quarantined_rows").fetchall())
    assert sorted(reasons.values()) == sorted(
        [
            "x0: 'abc' is not a number; probabilities: '{\"0\":0.5,\"1\":0.9}' must map each "
            "class 0, 1 to a probability, summing to 1",
            "kind: 'retraction' is neither 'prediction' nor 'feedback'",
            "line is not valid JSON",
        ]
    )
    assert ingestion.ingest_prediction_log(conn, config, path).status == "skipped"

    later = [feedback_record("p2", 1), prediction_record("p3", features)]
    second = ingestion.ingest_prediction_log(conn, config, write_log(tmp_path / "p2.jsonl", later))
    assert (second.rows_good, second.rows_quarantined, second.waiting) == (1, 1, 0)
    assert conn.execute(
        "SELECT row_id, reason FROM quarantined_rows WHERE ingestion_id = ?",
        [second.ingestion_id],
    ).fetchall() == [("p3", "prediction_id: 'p3' is already in predictions")]

    day = date(2026, 1, 9)
    joined = ingestion.labelled_predictions(conn, config, day, day).set_index("prediction_id")
    assert joined["label"].to_dict() == {"p1": 0, "p2": 1}
    assert joined.loc["p1", "x0"] == pytest.approx(features["x0"])
    assert joined.loc["p1", "served_at"] == pd.Timestamp("2026-01-09 10:00:00.123456")
    assert json.loads(joined.loc["p1", "probabilities"]) == {"0": 0.25, "1": 0.75}
    assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == 3


def test_feedback_on_a_prediction_of_an_observed_row_labels_that_row(
    conn, config, tmp_path, features
):
    rows = day_rows(config).astype({"label": object})
    rows["label"] = ""
    ingestion.ingest_file(conn, config, write_csv(tmp_path / "day.csv", rows))
    row_id = rows.loc[4, "row_id"]
    log = [prediction_record("p1", features, row_id=row_id), feedback_record("p1", 1)]
    ingestion.ingest_prediction_log(conn, config, write_log(tmp_path / "log.jsonl", log))
    day = partition_date(config, 0)
    training = ingestion.labelled_rows(conn, config, day, day)
    assert training[["row_id", "label"]].values.tolist() == [[row_id, 1]]


def test_the_service_log_writer_output_is_ingested(conn, config, tmp_path, features):
    writer = RotatingJsonlWriter(tmp_path / "logs", "predictions", max_records=10)
    writer.write([prediction_record(f"p{i}", features) for i in range(3)])
    writer.write([feedback_record("p0", 1)])
    writer.close()
    (path,) = closed_logs(tmp_path / "logs")
    report = ingestion.ingest_prediction_log(conn, config, path)
    assert (report.rows_good, report.rows_quarantined) == (4, 0)
