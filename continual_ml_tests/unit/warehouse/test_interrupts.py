"""A signal that interrupts a DuckDB query comes out of the warehouse connection as the
KeyboardInterrupt its handler raised, not as DuckDB's `RuntimeError("Query interrupted")`."""

import os
import signal
import threading

import duckdb
import pytest

from continual_ml.warehouse.connection import WarehouseLocation, warehouse_connection

LONG_QUERY = "SELECT count(*) FROM range(100000000000) a"


@pytest.fixture
def sigterm_raises_keyboard_interrupt():
    """SIGTERM handled as Dagster's run worker handles it: by raising KeyboardInterrupt."""

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


def sigterm_soon() -> threading.Timer:
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    return timer


@pytest.mark.timeout(60)
def test_duckdb_alone_swallows_the_interrupt(sigterm_raises_keyboard_interrupt):
    # What the connection works around: if DuckDB ever raises the interrupt itself, this fails
    # and the workaround can go.
    conn = duckdb.connect()
    sigterm_soon()
    with pytest.raises(RuntimeError, match="Query interrupted"):
        conn.execute(LONG_QUERY)


@pytest.mark.timeout(60)
def test_an_interrupted_query_raises_keyboard_interrupt(
    tmp_path, sigterm_raises_keyboard_interrupt
):
    location = WarehouseLocation(database=str(tmp_path / "w.duckdb"))
    with pytest.raises(KeyboardInterrupt) as raised:
        with warehouse_connection(location) as conn:
            sigterm_soon()
            conn.execute(LONG_QUERY)
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_other_errors_stay_what_they_are(tmp_path):
    location = WarehouseLocation(database=str(tmp_path / "w.duckdb"))
    with pytest.raises(duckdb.CatalogException):
        with warehouse_connection(location) as conn:
            conn.execute("SELECT * FROM no_such_table")
    with pytest.raises(RuntimeError, match="not a query"):
        with warehouse_connection(location):
            raise RuntimeError("not a query")
