"""A file rewritten while it is ingested: the sha256 recorded is that of the rows landed, so
the complete version is never skipped as "already ingested"; a file still being written is not
ingested at all. Every row is accounted: rows in = observations + quarantined."""

import subprocess
import sys
import time

from continual_ml import ingestion
from continual_ml.demo.synthetic_stream import generate_batch, partition_date

WRITER = """
import sys, time
path, rows, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
lines = open(sys.argv[4]).read().splitlines(keepends=True)
with open(path, "w") as out:
    out.write(lines[0]); out.flush()
    for line in lines[1 : rows + 1]:
        out.write(line); out.flush(); time.sleep(pause)
"""


def counts(conn) -> tuple[int, int]:
    observed = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
    return observed, conn.execute("SELECT count(*) FROM quarantined_rows").fetchone()[0]


def test_a_file_rewritten_during_ingestion_is_recorded_as_the_version_read(conn, config, tmp_path):
    rows = generate_batch(config, partition_date(config, 0))
    path = tmp_path / "day.csv"
    rows.head(1000).to_csv(path, index=False)

    def rewrite(step: str) -> None:  # the writer finishes the file while DuckDB reads it
        if step == "keys" and len(path.read_text().splitlines()) == 1001:
            rows.head(1500).to_csv(path, index=False)

    first = ingestion.ingest_file(conn, config, path, on_step=rewrite)
    assert (first.status, first.rows_in, first.rows_good) == ("ingested", 1000, 1000)
    # The complete file is new content: ingested, its first 1,000 rows refused as landed.
    second = ingestion.ingest_file(conn, config, path)
    assert second.status == "ingested" and second.sha256 != first.sha256
    assert (second.rows_in, second.rows_good, second.rows_quarantined) == (1500, 500, 1000)
    observed, quarantined = counts(conn)
    assert first.rows_in + second.rows_in == observed + quarantined == 2500
    assert observed == 1500  # every row of the complete file is in
    recorded = conn.execute("SELECT sha256, rows_in FROM ingested_files ORDER BY 2").fetchall()
    assert recorded == [(first.sha256, 1000), (second.sha256, 1500)]


def test_a_file_read_while_it_is_written_lands_whole_with_every_row_accounted(
    conn, config, tmp_path
):
    """Read mid-write (as `continual-ml ingest` on a file still being copied), a file gives the
    rows of the bytes read, under their own sha256; the complete file is new content after it."""
    source = tmp_path / "source.csv"
    generate_batch(config, partition_date(config, 1)).head(400).to_csv(source, index=False)
    path = tmp_path / "slow.csv"
    # 400 rows, one every 10 ms: about 4 s of writing.
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "400", "0.01", str(source)])
    try:
        deadline = time.monotonic() + 60
        while (not path.exists() or path.stat().st_size < 5000) and time.monotonic() < deadline:
            time.sleep(0.05)
        early = ingestion.ingest_file(conn, config, path)
    finally:
        writer.wait(timeout=120)
    assert early.status in ("ingested", "changing")  # "changing": it moved under every copy
    whole = ingestion.ingest_file(conn, config, path)
    assert whole.status == "ingested" and whole.rows_in == 400
    observed, quarantined = counts(conn)
    assert early.rows_in + whole.rows_in == observed + quarantined
    assert observed == 400  # none lost, none twice
    assert whole.rows_good == 400 - early.rows_good
