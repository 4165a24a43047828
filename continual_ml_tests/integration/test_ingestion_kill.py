"""Ingesting observation files: rules, quarantine, corrupt files, exactly-once and atomicity."""

import json
import os
import subprocess
import sys
import textwrap

import duckdb
import numpy as np
import pandas as pd
import pytest

from continual_ml import ingestion
from continual_ml.demo.synthetic_stream import generate_batch, partition_date

N_ROWS = 20


@pytest.fixture
def conn(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def day_rows(config, index=0, n=N_ROWS) -> pd.DataFrame:
    return generate_batch(config, partition_date(config, index)).head(n).reset_index(drop=True)


def write_csv(path, rows: pd.DataFrame):
    rows.to_csv(path, index=False)
    return path


def stored(conn) -> pd.DataFrame:
    return conn.execute("SELECT * FROM observations ORDER BY row_id").df()


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


def assert_intact(conn, expected: pd.DataFrame, config):
    """The rows in `observations` are exactly `expected`, value for value."""
    got = stored(conn)
    expected = expected.sort_values("row_id").reset_index(drop=True)
    assert got["row_id"].tolist() == expected["row_id"].tolist()
    np.testing.assert_allclose(got[config.numeric_features], expected[config.numeric_features])
    assert got["segment"].tolist() == expected["segment"].tolist()
    assert got["label"].tolist() == expected["label"].tolist()
    # the warehouse keeps microseconds; the generator makes nanoseconds
    assert ((got["event_time"] - expected["event_time"]).abs() < pd.Timedelta("1us")).all()
    assert (got["partition_date"] == expected["event_time"].dt.normalize()).all()


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


def _ingest_with_failure(conn, config, path, failing_step):
    def interrupt(step):
        if step == failing_step:
            raise RuntimeError(f"killed after {step}")

    with pytest.raises(RuntimeError, match="killed"):
        ingestion.ingest_file(conn, config, path, on_step=interrupt)


def test_a_process_killed_mid_write_leaves_the_file_as_it_was(config, tmp_path):
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as conn:
        ingestion.ingest_file(conn, config, write_csv(tmp_path / "old.csv", day_rows(config, 0)))
    write_csv(tmp_path / "new.csv", day_rows(config, 1))
    script = f"""
        import os, duckdb
        from continual_ml import ingestion
        from continual_ml.config import default_config

        def die(step):
            if step == "written":
                os._exit(17)  # no rollback, no close: as if the machine went down

        conn = duckdb.connect({str(database)!r})
        ingestion.ingest_file(conn, default_config(), {str(tmp_path / "new.csv")!r}, on_step=die)
        """
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=os.environ)
    assert child.returncode == 17
    with duckdb.connect(str(database)) as conn:
        assert_intact(conn, day_rows(config, 0), config)
        assert conn.execute("SELECT count(*) FROM ingested_files").fetchone()[0] == 1


def labels_csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def prediction(prediction_id, features, **fields):
    record = {
        "kind": "prediction",
        "prediction_id": prediction_id,
        "model_version": 3,
        "served_at": "2026-01-09T10:00:00.123456+00:00",
        "latency_ms": 0.8,
        "features": features,
        "probabilities": {"0": 0.25, "1": 0.75},
        "predicted_class": 1,
    }
    return record | fields


def feedback(prediction_id, label, received_at="2026-01-09T12:00:00+00:00"):
    return {
        "kind": "feedback",
        "prediction_id": prediction_id,
        "label": label,
        "received_at": received_at,
    }


def write_log(path, records, extra_lines=()):
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def features(config):
    return day_rows(config, n=1)[config.feature_names].iloc[0].to_dict()
