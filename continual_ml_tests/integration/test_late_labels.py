"""Labels that arrive after their rows, or before them: monitoring runs without them and
re-measures the champion once they land."""

import json

import dagster as dg
import duckdb
import pytest

from continual_ml import ingestion
from continual_ml.defs.data.assets import current_window, observations, reference_window
from continual_ml.defs.data.ingestion import ingest_file_job
from continual_ml.defs.jobs import performance_job
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.monitoring.late_labels import late_labels_sensor
from continual_ml.defs.monitoring.performance import model_performance
from continual_ml.defs.resources import build_resources
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.defs.training.checks import candidate_beats_champion
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.warehouse.schema import apply_schema
from continual_ml_tests.support.ingestion_files import feedback_record, prediction_record
from continual_ml_tests.support.synthetic_days import materialize_day

MONITORING = [observations, current_window, reference_window, drift_report, model_performance]
RETRAIN = [candidate_model, evaluation_scores, candidate_beats_champion, champion_model]


materialize = materialize_day


def first_champion(home, config, instance):
    for index in range(3):
        day = partition_date(config, index)
        materialize([observations, current_window, reference_window], day, home, instance)
    materialize(RETRAIN, partition_date(config, 2), home, instance)


def performance_row(home, day):
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(
            "SELECT n_rows, n_labelled, estimated_accuracy, realized_accuracy "
            "FROM performance_history WHERE partition_date = ?",
            [day],
        ).fetchone()


def ingest(home, instance, path, kind):
    result = ingest_file_job.execute_in_process(
        run_config={
            "ops": {"ingest_landed_file": {"config": {"paths": [str(path)], "kind": kind}}}
        },
        resources=build_resources(home),
        instance=instance,
    )
    return result.output_for_node("ingest_landed_file")


def label_file(rows, config, folder):
    path = folder / "labels.csv"
    rows[["row_id", config.label]].to_csv(path, index=False)
    return path, "labels"


def feedback_log(rows, config, folder):
    """The service's log: each row predicted (with its id), then its label as feedback."""
    records = []
    for index, row in enumerate(rows.to_dict("records")):
        served_at = row["event_time"].isoformat() + "+00:00"
        features = {name: row[name] for name in config.feature_names}
        records.append(
            prediction_record(
                f"p{index}",
                features,
                model_version=1,
                served_at=served_at,
                probabilities={"0": 0.5, "1": 0.5},
                row_id=row["row_id"],
            )
        )
        records.append(feedback_record(f"p{index}", int(row[config.label]), served_at))
    path = folder / "predictions-1.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path, "prediction_log"


@pytest.mark.parametrize("labels_as", [label_file, feedback_log])
def test_a_day_without_labels_is_monitored_and_re_measured_when_its_labels_land(
    home, config, instance, tmp_path, labels_as
):
    first_champion(home, config, instance)
    day = partition_date(config, 3)
    rows = generate_batch(config, day)
    unlabelled = tmp_path / "day.csv"
    rows.drop(columns=[config.label]).to_csv(unlabelled, index=False)
    landed = {"ops": {"observations": {"config": {"landed_files": [str(unlabelled)]}}}}
    materialize(MONITORING, day, home, instance, landed)
    n_rows, n_labelled, estimated, realized = performance_row(home, day)
    assert (n_rows, n_labelled, realized) == (len(rows), 0, None)
    assert 0.5 < estimated <= 1

    sensor_context = dg.build_sensor_context(instance=instance)
    assert not late_labels_sensor(sensor_context).run_requests  # nothing new yet
    [outcome] = ingest(home, instance, *labels_as(rows, config, tmp_path))
    assert outcome["rows_quarantined"] == 0

    tick = late_labels_sensor(dg.build_sensor_context(instance=instance, cursor=None))
    [request] = tick.run_requests
    assert request.partition_key == str(day)
    assert late_labels_sensor.job_name == performance_job.name
    materialize([model_performance], day, home, instance)
    _, n_labelled, _, realized = performance_row(home, day)
    assert n_labelled == len(rows)
    assert 0.5 < realized <= 1


def test_labels_that_arrive_before_their_rows_wait_for_them(conn, config, tmp_path):
    apply_schema(conn, config)
    day = partition_date(config, 0)
    rows = generate_batch(config, day).head(50)
    early = tmp_path / "labels.csv"
    rows[["row_id", config.label]].to_csv(early, index=False)
    report = ingestion.ingest_labels(conn, config, early)
    assert (report.rows_good, report.rows_quarantined) == (50, 0)
    assert report.waiting == 50
    assert ingestion.labelled_rows(conn, config, day, day).empty

    observed = tmp_path / "day.csv"
    rows.drop(columns=[config.label]).to_csv(observed, index=False)
    ingestion.ingest_file(conn, config, observed)
    labelled = ingestion.labelled_rows(conn, config, day, day)
    assert len(labelled) == 50
    truth = rows.set_index("row_id")[config.label]
    assert (labelled.set_index("row_id")[config.label] == truth[labelled["row_id"]]).all()
