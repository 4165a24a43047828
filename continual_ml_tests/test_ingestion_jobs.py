"""The ingestion paths wired into Dagster: landing sensor, prediction-log sensor, CLI."""

import dagster as dg
import duckdb
import pytest

from continual_ml.cli import main
from continual_ml.defs.data.ingestion import (
    ingest_file_job,
    landing_folder_sensor,
    prediction_log_sensor,
)
from continual_ml.defs.resources import build_resources
from continual_ml.prediction_log import RotatingJsonlWriter
from continual_ml.synthetic_stream import generate_batch, partition_date


def run_requests(instance, resources, requests):
    outcomes = []
    for request in requests:
        result = ingest_file_job.execute_in_process(
            run_config=request.run_config,
            resources=resources,
            instance=instance,
            tags={"dagster/run_key": request.run_key},
        )
        outcomes.append(result.output_for_node("ingest_landed_file"))
    return outcomes


@pytest.fixture
def landing(home, monkeypatch):
    folder = home.home / "landing"
    folder.mkdir()
    monkeypatch.setenv("CONTINUAL_ML_LANDING_DIR", str(folder))
    return folder


def count(home, table):
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_dropped_file_is_ingested_once_however_often_the_sensor_ticks(
    home, config, instance, landing
):
    rows = generate_batch(config, partition_date(config, 0)).head(300)
    rows.loc[7, "segment"] = "up"  # one bad row among good ones
    rows.to_csv(landing / "day0.csv", index=False)
    resources = build_resources(home)
    first = landing_folder_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    second = landing_folder_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert [r.run_key for r in first.run_requests] == [r.run_key for r in second.run_requests]
    outcomes = run_requests(instance, resources, first.run_requests + second.run_requests)
    assert [o["status"] for o in outcomes] == ["ingested", "skipped"]
    assert outcomes[0]["rows_good"] == 299 and outcomes[0]["rows_quarantined"] == 1
    assert count(home, "observations") == 299 and count(home, "quarantined_rows") == 1
    materialized = instance.fetch_materializations(dg.AssetKey("observations"), limit=10)
    assert [r.asset_materialization.partition for r in materialized.records] == [
        str(partition_date(config, 0))
    ]


def test_a_corrupt_file_is_quarantined_whole_and_the_sensor_keeps_going(
    home, config, instance, landing
):
    (landing / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    generate_batch(config, partition_date(config, 1)).head(50).to_parquet(landing / "ok.parquet")
    tick = landing_folder_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    outcomes = run_requests(instance, build_resources(home), tick.run_requests)
    assert sorted(o["status"] for o in outcomes) == ["ingested", "quarantined"]
    assert count(home, "quarantined_files") == 1 and count(home, "observations") == 50


def test_closed_prediction_logs_land_once_and_join_their_feedback(home, config, instance):
    writer = RotatingJsonlWriter(home.prediction_logs, "predictions")
    row = generate_batch(config, partition_date(config, 0)).iloc[0]
    features = {f: (float(row[f]) if f != "segment" else row[f]) for f in config.feature_names}
    writer.write(
        [
            {
                "kind": "prediction",
                "prediction_id": f"p{i}",
                "model_version": 1,
                "predicted_class": 1,
                "probabilities": {"0": 0.2, "1": 0.8},
                "served_at": "2026-01-01T10:00:00+00:00",
                "latency_ms": 0.5,
                "features": features,
            }
            for i in range(3)
        ]
    )
    writer.close()
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
    resources = build_resources(home)
    tick = prediction_log_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert len(tick.run_requests) == 2  # the open file is not touched
    run_requests(instance, resources, tick.run_requests + tick.run_requests)
    assert count(home, "predictions") == 3
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
