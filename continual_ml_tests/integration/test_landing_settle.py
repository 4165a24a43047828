"""The landing sensor takes a file only once it stopped changing; a file changed after it
landed is alerted on and landed again as a new version, every row accounted."""

import json
import subprocess
import sys
import time

import duckdb

from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml_tests.support.landing import run_landing_requests, tick

SETTLE_SECONDS = 2
# Appends the source's rows in chunks, pausing less than the settle time between them.
WRITER = """
import sys, time
path, source, chunks, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
lines = open(source).read().splitlines(keepends=True)
size = -(-len(lines) // chunks)
with open(path, "w") as out:
    for start in range(0, len(lines), size):
        out.writelines(lines[start : start + size]); out.flush(); time.sleep(pause)
"""


def counts(home) -> tuple[int, int]:
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        observed = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
        return observed, conn.execute("SELECT count(*) FROM quarantined_rows").fetchone()[0]


def alerts_of(home) -> list[dict]:
    record = home.alerts_record
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def test_a_slowly_written_file_is_taken_once_whole(home, config, instance, landing, monkeypatch):
    monkeypatch.setenv("CONTINUAL_ML_LANDING_SETTLE_SECONDS", str(SETTLE_SECONDS))
    source = home.home / "source.csv"
    generate_batch(config, partition_date(config, 0)).head(1000).to_csv(source, index=False)
    path = landing / "day.csv"
    # 12 chunks, 0.5 s apart: 6 s of writing, each pause a quarter of the settle time.
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(source), "12", "0.5"])
    cursor, requests, while_writing = None, [], []
    try:
        deadline = time.monotonic() + 120
        while not requests and time.monotonic() < deadline:
            writing = writer.poll() is None
            result = tick(instance, home, cursor)
            cursor, requests = result.cursor, result.run_requests
            if writing:
                while_writing.append(result)
            time.sleep(0.25)
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    # While the writer wrote, no tick asked for the file, and each said it was settling.
    assert while_writing and all(not r.run_requests for r in while_writing)
    assert any(
        "still settling" in r.skip_message and "day.csv" in r.skip_message
        for r in while_writing
        if path.exists()
    )
    [request] = requests
    run_landing_requests(instance, home, requests)
    assert counts(home) == (1000, 0)  # rows in = observations + quarantined: the whole file
    # Landed: later ticks ask for nothing more.
    later = tick(instance, home, cursor)
    assert later.run_requests == [] and json.loads(later.cursor)["settled"]

    # A new version of the landed file (100 more rows): alerted on, then landed as new content,
    # its 1,000 rows already in refused as such and its 100 new rows in.
    generate_batch(config, partition_date(config, 0)).head(1100).to_csv(path, index=False)
    changed = tick(instance, home, later.cursor)
    assert changed.run_requests == [] and "still settling" in changed.skip_message
    [alert] = [a for a in alerts_of(home) if "changed after they were landed" in a["line"]]
    time.sleep(SETTLE_SECONDS + 0.5)
    again = tick(instance, home, changed.cursor)
    [outcome] = run_landing_requests(instance, home, again.run_requests)
    assert "(ingested)" in outcome["sources"]
    observed, quarantined = counts(home)
    assert (observed, quarantined) == (1100, 1000)
    assert 1000 + 1100 == observed + quarantined  # rows in, over both versions
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        reasons = conn.execute("SELECT DISTINCT unnest(rules) FROM quarantined_rows").fetchall()
    assert reasons == [("row_id:exists",)]
