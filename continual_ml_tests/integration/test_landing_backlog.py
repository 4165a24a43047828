"""2,000 files dropped into the landing folder at once (days and labels): every tick stays
within its bound, every file lands, and the files share runs."""

import time
from collections import Counter

import dagster as dg
import duckdb

from continual_ml.defs.data.landed_batches import MAX_FILES_PER_RUN
from continual_ml.defs.data.landing_sensors import MAX_FILES_PER_TICK
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.ingestion.file_days import days_in_file
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
    # Each tick took at most its bound of files, so the backlog took several ticks; and every
    # tick but the last asked for new files: settling the files that landed took no tick of its own.
    assert max(per_tick) <= MAX_FILES_PER_TICK and len(per_tick) > n_files // MAX_FILES_PER_TICK
    assert per_tick[-1] == 0 and all(per_tick[:-1]), per_tick
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


def test_files_waiting_behind_a_queued_run_are_read_once(
    home, config, instance, landing, monkeypatch
):
    from continual_ml.app.first_champion import bound_definitions
    from continual_ml.defs.data import landing_sensors
    from continual_ml.defs.jobs import monitoring_job

    reads = []

    def counted(path, *args):  # the real read, counted
        reads.append(path.name)
        return days_in_file(path, *args)

    monkeypatch.setattr(landing_sensors, "days_in_file", counted)
    drop = [(i, generate_batch(config, partition_date(config, i)).head(20)) for i in range(4)]
    drop[0][1].to_csv(landing / "day-0.csv", index=False)
    result = tick(instance, home)
    [first], cursor = result.run_requests, result.cursor
    run = instance.create_run_for_job(  # waiting, as a queued run is
        bound_definitions(home).resolve_job_def(monitoring_job.name),
        tags={**first.tags, "dagster/run_key": first.run_key},
        status=dg.DagsterRunStatus.NOT_STARTED,
        run_config=first.run_config,
    )
    for index, rows in drop[1:]:
        rows.to_csv(landing / f"day-{index}.csv", index=False)
    for _ in range(3):  # new files wait for the queued run, each read on the first tick only
        result = tick(instance, home, cursor)
        cursor = result.cursor
        assert result.run_requests == [] and "3 landed day(s) wait" in result.skip_message
    assert sorted(reads) == ["day-0.csv", "day-1.csv", "day-2.csv", "day-3.csv"]
    instance.report_run_canceled(run)  # no longer waiting: the files that waited are asked for
    [together] = tick(instance, home, cursor).run_requests
    assert together.run_config["ops"]["observations"]["config"]["landed_files"] == [
        str(landing / f"day-{i}.csv") for i in (1, 2, 3)
    ]
    days = [str(partition_date(config, i)) for i in (1, 3)]
    assert [together.tags[f"dagster/asset_partition_range_{e}"] for e in ("start", "end")] == days
    assert len(reads) == 4
