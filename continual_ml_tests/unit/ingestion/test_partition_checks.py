import duckdb
import pytest

from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.ingestion.partition_checks import (
    check_partition,
    failed_partitions,
    record_verdict,
)
from continual_ml.warehouse.schema import apply_schema
from continual_ml.warehouse.sql import insert_frame


@pytest.fixture
def conn(tmp_path, config):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    apply_schema(connection, config)
    for index in range(3):
        rows = generate_batch(config, partition_date(config, index))
        rows["partition_date"] = partition_date(config, index)
        insert_frame(connection, "observations", rows)
    yield connection
    connection.close()


def test_a_clean_partition_passes(conn, config):
    assert check_partition(conn, config, partition_date(config, 2)) == {}


def test_each_broken_rule_is_named_with_its_count(conn, config):
    day = partition_date(config, 2)
    conn.execute(
        "UPDATE observations SET segment = 'up' WHERE row_id IN "
        "(SELECT row_id FROM observations WHERE partition_date = ? LIMIT 3)",
        [day],
    )
    conn.execute("UPDATE observations SET x1 = NULL WHERE row_id = ?", [f"{day}-000010"])
    conn.execute("UPDATE observations SET label = 7 WHERE row_id = ?", [f"{day}-000011"])
    conn.execute(
        "UPDATE observations SET row_id = ? WHERE row_id = ?", [f"{day}-000001", f"{day}-000002"]
    )
    assert check_partition(conn, config, day) == {
        "segment:unknown_category": 3,
        "x1:nulls": 1,
        "label:domain": 1,
        "row_id:duplicates": 1,
    }


def test_a_row_count_anomaly_fails_and_training_skips_the_partition(conn, config):
    day = partition_date(config, 2)
    conn.execute(
        "DELETE FROM observations WHERE partition_date = ? AND row_id > ?", [day, f"{day}-000100"]
    )
    failures = check_partition(conn, config, day)
    assert "row_count:anomaly" in failures
    record_verdict(conn, day, failures)
    assert failed_partitions(conn, partition_date(config, 0), day) == [day]
