"""2,000 files dropped into the landing folder at once (days and labels): every tick stays
within its bound, every file lands, and the files share runs."""

import time
from collections import Counter

import dagster as dg
import duckdb

from continual_ml.defs.data.landed_batches import MAX_FILES_PER_RUN
from continual_ml.defs.data.landing_sensors import MAX_FILES_PER_TICK
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml_tests.support.landing import run_landing_requests, tick

DAYS, FILES_PER_DAY, ROWS_PER_FILE = 10, 100, 5
DAGSTER_TICK_TIMEOUT_SECONDS = 60  # Dagster's sensor evaluation timeout, by default


def drop_backlog(config, landing) -> int:
    """1,000 files of observations (10 days of 100 files) and 1,000 label files for them."""
    (landing / "labels").mkdir()
    for day_index in range(DAYS):
        rows = generate_batch(config, partition_date(config, day_index))
        for part in range(FILES_PER_DAY):
            chunk = rows.iloc[part * ROWS_PER_FILE : (part + 1) * ROWS_PER_FILE]
            chunk.drop(columns=[config.label]).to_csv(
                landing / f"day{day_index:02d}-{part:03d}.csv", index=False
            )
            chunk[["row_id", config.label]].to_csv(
                landing / "labels" / f"labels{day_index:02d}-{part:03d}.csv", index=False
            )
    return 2 * DAYS * FILES_PER_DAY


def test_a_backlog_of_2000_files_drains_in_bounded_ticks_and_batched_runs(
    home, config, instance, landing
):
    n_files = drop_backlog(config, landing)
    cursor, ticks, requests, per_tick = None, [], [], []
    for _ in range(40):  # bounded: each tick takes up to MAX_FILES_PER_TICK files
        started = time.monotonic()
        result = tick(instance, home, cursor)
        ticks.append(time.monotonic() - started)
        cursor = result.cursor
        requests += result.run_requests
        per_tick.append(sum(len(files_of(r)) for r in result.run_requests))
        print(f"tick {len(ticks)}: {per_tick[-1]} files asked for in {ticks[-1]:.1f} s")
        run_landing_requests(instance, home, result.run_requests)
        if not result.run_requests and "no new files" in (result.skip_message or ""):
            break
    # No tick came near Dagster's timeout: each did a bounded amount of work.
    assert max(ticks) < DAGSTER_TICK_TIMEOUT_SECONDS, ticks
    # Each tick took at most its bound of files, so the backlog took several ticks.
    assert max(per_tick) <= MAX_FILES_PER_TICK and len(per_tick) > n_files // MAX_FILES_PER_TICK
    files_asked = [files_of(r) for r in requests]
    assert all(len(files) <= MAX_FILES_PER_RUN for files in files_asked)
    asked = Counter(path for files in files_asked for path in files)
    dropped = {str(p) for p in landing.rglob("*.csv")}
    assert set(asked) == dropped and set(asked.values()) == {1}  # each file asked for once
    # Batched: runs hold half their bound or more on average (a tick's last run may be short).
    assert len(requests) <= n_files // (MAX_FILES_PER_RUN // 2)
    # Every file landed, every row accounted.
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        files = conn.execute("SELECT kind, count(*) FROM ingested_files GROUP BY ALL").fetchall()
        observed = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
        labels = conn.execute("SELECT count(*) FROM labels").fetchone()[0]
        quarantined = conn.execute("SELECT count(*) FROM quarantined_rows").fetchone()[0]
    assert sorted(files) == [("labels", n_files // 2), ("observations", n_files // 2)]
    assert (observed, labels, quarantined) == (DAYS * FILES_PER_DAY * ROWS_PER_FILE,) * 2 + (0,)
    assert len(instance.get_run_records(dg.RunsFilter())) == len(requests)


def files_of(request: dg.RunRequest) -> list[str]:
    ops = request.run_config["ops"]
    if "observations" in ops:
        return ops["observations"]["config"]["landed_files"]
    return ops["ingest_landed_file"]["config"]["paths"]
