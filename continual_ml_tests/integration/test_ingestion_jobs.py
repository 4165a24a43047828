"""The ingestion paths wired into Dagster: landing sensor, prediction-log sensor, CLI."""

import json

import dagster as dg
import duckdb
import pandas as pd
import pytest

from continual_ml.app.cli import main
from continual_ml.defs.data.assets import observations
from continual_ml.defs.data.landing_sensors import prediction_log_sensor
from continual_ml.defs.resources import build_resources
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.serving.prediction_log import RotatingJsonlWriter
from continual_ml_tests.support.landing import (
    closed_prediction_log,
    run_landing_requests,
    tick,
)


def run_requests(instance, home, requests):
    """Run what the sensor asked for (a monitoring run only as far as its landing step); each
    file's ingestion status."""
    return [
        outcome["sources"].split("(")[1].rstrip(")") if "sources" in outcome else outcome["status"]
        for outcome in run_landing_requests(instance, home, requests)
    ]


def count(home, table):
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_dropped_file_is_ingested_once_however_often_the_sensor_ticks(
    home, config, instance, landing
):
    rows = generate_batch(config, partition_date(config, 0)).head(300)
    rows.loc[7, "segment"] = "up"  # one bad row among good ones
    rows.to_csv(landing / "day0.csv", index=False)
    first, second = tick(instance, home), tick(instance, home)
    assert [r.run_key for r in first.run_requests] == [r.run_key for r in second.run_requests]
    # A file of one day is landed and monitored in one run of monitoring_job for that day.
    [request] = first.run_requests
    assert request.job_name == "monitoring_job"
    assert request.partition_key == str(partition_date(config, 0))
    outcomes = run_requests(instance, home, first.run_requests + second.run_requests)
    assert outcomes == ["ingested", "skipped"]
    assert count(home, "observations") == 299 and count(home, "quarantined_rows") == 1
    materialized = instance.fetch_materializations(dg.AssetKey("observations"), limit=10)
    assert {r.asset_materialization.partition for r in materialized.records} == {
        str(partition_date(config, 0))
    }


def test_a_corrupt_file_is_quarantined_whole_and_the_sensor_keeps_going(
    home, config, instance, landing
):
    (landing / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    generate_batch(config, partition_date(config, 1)).head(50).to_parquet(landing / "ok.parquet")
    requests = tick(instance, home).run_requests
    # What cannot be read to find its day goes to plain ingestion, which quarantines it.
    assert sorted(r.job_name for r in requests) == ["ingest_file_job", "monitoring_job"]
    outcomes = run_requests(instance, home, requests)
    assert sorted(outcomes) == ["ingested", "quarantined"]
    assert count(home, "quarantined_files") == 1 and count(home, "observations") == 50


def test_a_pq_file_in_landing_is_monitored_on_its_day(home, config, instance, landing):
    day = partition_date(config, 1)
    generate_batch(config, day).head(50).to_parquet(landing / "day1.PQ")
    [request] = tick(instance, home).run_requests
    assert (request.job_name, request.partition_key) == ("monitoring_job", str(day))
    assert run_requests(instance, home, [request]) == ["ingested"]
    assert count(home, "observations") == 50


def test_a_file_spanning_days_is_ingested_into_each_day(home, config, instance, landing):
    days = [generate_batch(config, partition_date(config, i)).head(40) for i in (2, 3)]
    pd.concat(days).to_parquet(landing / "two_days.parquet")
    first = tick(instance, home)
    [request] = first.run_requests
    assert request.job_name == "ingest_file_job"
    assert run_requests(instance, home, first.run_requests) == ["ingested"]
    # Seen files are not read again: the next tick asks for nothing new.
    assert tick(instance, home).run_requests == []
    materialized = instance.fetch_materializations(dg.AssetKey("observations"), limit=10)
    assert sorted(r.asset_materialization.partition for r in materialized.records) == [
        str(partition_date(config, 2)),
        str(partition_date(config, 3)),
    ]


def test_closed_prediction_logs_land_once_and_join_their_feedback(home, config, instance):
    closed_prediction_log(home, config, [f"p{i}" for i in range(3)])
    feedback = RotatingJsonlWriter(home.prediction_logs, "feedback")
    feedback.write(
        [
            {
                "kind": "feedback",
                "prediction_id": "p1",
                "label": 0,
                "received_at": "2026-01-01T11:00:00+00:00",
            }
        ]
    )
    feedback.close()
    (home.prediction_logs / "predictions-still-open.jsonl.open").write_text("{}\n")
    tick = prediction_log_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    # One run for both closed files, predictions first; the open file is not touched.
    [request] = tick.run_requests
    paths = request.run_config["ops"]["ingest_landed_file"]["config"]["paths"]
    assert [p.split("/")[-1].split("-")[0] for p in paths] == ["predictions", "feedback"]
    assert run_requests(instance, home, [request, request]) == ["ingested"] * 2 + ["skipped"] * 2
    assert count(home, "predictions") == 3
    # Each model version's served traffic, recorded by the run that landed its logs.
    [record] = instance.fetch_materializations(
        dg.AssetKey("served_model_performance"), limit=1
    ).records
    served = {k: v.value for k, v in record.asset_materialization.metadata.items()}
    assert served["model_version"] == 1 and served["n_predictions"] == 3
    assert served["n_labelled"] == 1 and served["realized_accuracy"] == 0.0  # said 1, was 0
    assert served["latency_p99_ms"] == pytest.approx(0.5)
    # Landed logs leave the folder the sensor lists: the next tick has nothing to ask for.
    assert sorted(p.name for p in (home.prediction_logs / "ingested").iterdir()) == sorted(
        p.split("/")[-1] for p in paths
    )
    next_tick = prediction_log_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert next_tick.run_requests == []
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        joined = conn.execute("SELECT prediction_id, label FROM labelled_predictions").df()
    assert joined.to_dict("records") == [{"prediction_id": "p1", "label": 0}]


def test_the_cli_ingests_a_folder(home, config, tmp_path, capsys):
    folder = tmp_path / "drop"
    folder.mkdir()
    for index in (2, 3):
        generate_batch(config, partition_date(config, index)).head(40).to_parquet(
            folder / f"day{index}.parquet"
        )
    assert main(["ingest", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "day2.parquet: ingested, 40 rows in, 0 quarantined" in printed
    assert count(home, "observations") == 80


def test_a_landed_file_is_settled_in_the_cursor_and_never_asked_about_again(
    home, config, instance, landing
):
    """Once its run succeeded, a file is decided from the sensor's cursor alone: a tick does not
    read its runs again (so it costs the same with a year of files); a changed file is new."""
    day = partition_date(config, 0)
    generate_batch(config, day).head(100).to_csv(landing / "day0.csv", index=False)
    first = tick(instance, home)
    [request] = first.run_requests
    landed = dg.materialize(
        [observations],
        partition_key=request.partition_key,
        run_config=request.run_config,
        resources=build_resources(home),
        instance=instance,
        tags={**request.tags, "dagster/run_key": request.run_key},
    )
    second = tick(instance, home, first.cursor)
    assert second.run_requests == []
    [settled] = json.loads(second.cursor)["settled"]
    assert settled.startswith("observations:day0.csv:")
    # With its run gone from the instance, only the cursor can say the file landed.
    instance.delete_run(landed.run_id)
    assert tick(instance, home, second.cursor).run_requests == []
    assert len(tick(instance, home).run_requests) == 1  # without the cursor, asked for again
    # A new version of the file (other size and time) is asked for afresh.
    generate_batch(config, day).head(120).to_csv(landing / "day0.csv", index=False)
    changed = tick(instance, home, second.cursor)
    assert len(changed.run_requests) == 1 and changed.run_requests[0].run_key != request.run_key
    # A file gone from the folder leaves the cursor, which does not grow forever.
    (landing / "day0.csv").unlink()
    assert json.loads(tick(instance, home, second.cursor).cursor)["settled"] == []
    # The cursor of earlier versions (the reported skips alone) is still read.
    assert tick(instance, home, json.dumps([])).run_requests == []
