"""Feedback that lands before its prediction log (the service closes its feedback file first,
or a sensor tick takes it first) waits for the predictions, and joins them when they land."""

import dagster as dg
import duckdb

from continual_ml.app import cli
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.serving.prediction_log import RotatingJsonlWriter, closed_logs
from continual_ml_tests.support.ingestion_files import feedback_record, prediction_record


def test_feedback_ingested_before_its_prediction_log_waits_and_joins_when_the_log_lands(
    home, config, tmp_path, capsys
):
    day = partition_date(config, 0)
    rows = generate_batch(config, day).head(40)
    landed = tmp_path / "day.csv"
    rows.drop(columns=config.label).to_csv(landed, index=False)  # the day's rows, no labels
    assert cli.main(["ingest", str(landed)]) == 0

    logs = tmp_path / "logs"
    predictions = RotatingJsonlWriter(logs, "predictions", max_records=1000)
    feedback = RotatingJsonlWriter(logs, "feedback", max_records=1000)
    served_at = f"{day.isoformat()}T12:00:00+00:00"
    predictions.write(
        [
            prediction_record(
                f"p{i}",
                {name: row[name] for name in config.feature_names},
                row_id=row["row_id"],
                model_version=1,
                served_at=served_at,
                probabilities={"0": 0.4, "1": 0.6},
            )
            for i, row in rows.iterrows()
        ]
    )
    sent = {f"p{i}": int(label) for i, label in rows[config.label].items()}
    feedback.write([feedback_record(pid, label, served_at) for pid, label in sent.items()])
    predictions.close()
    feedback.close()
    [feedback_log] = [p for p in closed_logs(logs) if p.name.startswith("feedback")]
    [prediction_log] = [p for p in closed_logs(logs) if p.name.startswith("predictions")]

    capsys.readouterr()
    assert cli.main(["ingest", str(feedback_log), "--kind", "prediction_log"]) == 0
    said = capsys.readouterr().out
    assert f"{len(sent)} rows in, 0 quarantined" in said and f"{len(sent)} waiting" in said
    assert cli.main(["ingest", str(prediction_log), "--kind", "prediction_log"]) == 0

    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM quarantined_rows").fetchone()[0] == 0
        joined = dict(
            conn.execute("SELECT prediction_id, label FROM labelled_predictions").fetchall()
        )
        labelled = dict(conn.execute("SELECT row_id, label FROM labelled_observations").fetchall())
    assert joined == sent
    assert labelled == dict(zip(rows["row_id"], rows[config.label].astype(int), strict=True))
    # the prediction log's ingestion names the day its predictions labelled, so
    # `late_labels_sensor` measures that day again
    with dg.DagsterInstance.get() as instance:
        observed = instance.fetch_observations(dg.AssetKey("labels"), limit=10).records
    partitions = [r.asset_observation.partition for r in observed]
    assert partitions.count(day.isoformat()) == 1
