"""An interrupted DuckDB query comes out of the warehouse connection as a KeyboardInterrupt, so
Dagster fails its step as interrupted rather than as failed by our code.

The interrupt a signal handler raises mid-query (DuckDB reports it as `RuntimeError("Query
interrupted")`) is tested end to end, through a Dagster run stopped by SIGTERM, in
`integration/test_interrupted_runs.py`; here, `interrupt()` from another thread."""

import threading
from contextlib import contextmanager

import duckdb
import pytest

from continual_ml.warehouse.connection import WarehouseLocation, warehouse_connection

LONG_QUERY = "SELECT count(*) FROM range(100000000000) a"


@contextmanager
def interrupted_every(conn: duckdb.DuckDBPyConnection, seconds: float = 0.1):
    """Interrupt `conn` every `seconds` while the block runs (an interrupt before the query
    starts is lost, so one would not do on a loaded machine)."""
    done = threading.Event()

    def interrupt():
        while not done.wait(seconds):
            conn.interrupt()

    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@pytest.mark.timeout(120)
def test_an_interrupted_query_raises_keyboard_interrupt(tmp_path):
    location = WarehouseLocation(database=str(tmp_path / "w.duckdb"))
    with pytest.raises(KeyboardInterrupt) as raised:
        with warehouse_connection(location) as conn, interrupted_every(conn):
            conn.execute(LONG_QUERY)
    assert isinstance(raised.value.__cause__, duckdb.InterruptException)


def test_other_errors_stay_what_they_are(tmp_path):
    location = WarehouseLocation(database=str(tmp_path / "w.duckdb"))
    with pytest.raises(duckdb.CatalogException):
        with warehouse_connection(location) as conn:
            conn.execute("SELECT * FROM no_such_table")
    with pytest.raises(RuntimeError, match="not a query"):
        with warehouse_connection(location):
            raise RuntimeError("not a query")
