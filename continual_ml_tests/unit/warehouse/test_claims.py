"""Claims on the DuckDB file: two connections of one process (two steps of one run) writing the
same new key; DuckLake's side is in integration/test_keyed_write_races.py."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from continual_ml.warehouse import record_window
from continual_ml.warehouse.claims import KEYED_TABLES, UnclaimableTable, claim, keyed_write
from continual_ml.warehouse.sql import is_conflict

DAY = date(2024, 3, 1)


def test_every_keyed_table_has_its_claim_row(conn):
    claimed = conn.execute("SELECT table_name FROM write_claims ORDER BY ALL").fetchall()
    assert [name for (name,) in claimed] == sorted(KEYED_TABLES)


def test_a_second_claim_of_a_table_conflicts_until_the_first_commits(conn):
    """The second writer of a new key fails at its claim, before it writes anything."""
    other = conn.cursor()
    conn.execute("BEGIN TRANSACTION")
    claim(conn, "data_windows")
    conn.execute("INSERT INTO data_windows VALUES (?, 'current', ?, ?, 1, 10)", [DAY, DAY, DAY])
    with pytest.raises(duckdb.TransactionException) as lost, keyed_write(other, "data_windows"):
        pass
    assert is_conflict(lost.value)
    conn.execute("COMMIT")
    # tried again after the commit, it sees the first writer's row and replaces it
    record_window(other, DAY, "current", DAY, DAY, 2)
    assert conn.execute("SELECT champion_version FROM data_windows").fetchall() == [(2,)]


def test_claims_of_different_tables_do_not_conflict(conn):
    other = conn.cursor()
    with keyed_write(conn, "drift_reports"), keyed_write(other, "data_windows"):
        pass


def test_a_table_without_a_claim_row_is_refused_by_name(conn):
    with (
        pytest.raises(UnclaimableTable, match="model_registry"),
        keyed_write(conn, "model_registry"),
    ):
        pass
