"""Ingesting observation files: rules, quarantine, corrupt files, exactly-once and atomicity."""

import os
import subprocess
import sys
import textwrap

import duckdb

from continual_ml import ingestion
from continual_ml_tests.support.ingestion_files import (
    assert_intact,
    day_rows,
    write_csv,
)


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
