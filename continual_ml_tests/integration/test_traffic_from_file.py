"""`continual-ml up` traffic on a user's dataset: `--traffic` alone (the demo's synthetic stream)
is refused in one line before anything starts; `--traffic-from FILE` replays the user's own
rows, a day of the file per simulated day, to the real service, lands each day as written and
gives the labels as feedback."""

import json

import duckdb

from continual_ml.app import cli
from continual_ml.app.first_champion import train_first_champion
from continual_ml.app.supervision.service_process import ServiceProcess
from continual_ml.demo.traffic import FileDays, TrafficGenerator
from continual_ml_tests.support.iris import iris_config, iris_days
from continual_ml_tests.support.service_support import ingest_service_logs
from continual_ml_tests.support.user_data import use_config


def user_config(tmp_path, monkeypatch):
    settings = use_config(iris_config(), tmp_path / "iris.yaml", monkeypatch)
    return settings


def test_traffic_alone_is_refused_for_a_users_dataset_before_anything_starts(
    home, tmp_path, monkeypatch, capsys
):
    user_config(tmp_path, monkeypatch)
    assert cli.main(["up", "--traffic", "--days", "1"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "--traffic plays the demo's synthetic stream, which dataset 'iris' is not" in line
    assert "--traffic-from FILE" in line
    assert not home.warehouse.exists()  # nothing bootstrapped, nothing started

    lacking = tmp_path / "lacking.csv"
    iris_days("2026-03-04", 1, shift=0, seed=3).drop(columns="grade").to_csv(lacking, index=False)
    assert cli.main(["up", "--traffic-from", str(lacking)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "lacking.csv lacks the column(s) the config names: ['grade']" in line


def test_traffic_from_a_users_file_replays_its_days_to_the_service(home, tmp_path, monkeypatch):
    settings = user_config(tmp_path, monkeypatch)
    history = tmp_path / "history.csv"
    iris_days("2026-03-01", 3, shift=0, seed=1).to_csv(history, index=False)
    assert cli.main(["ingest", str(history)]) == 0
    train_first_champion(home, settings, lambda line: None)

    later = iris_days("2026-03-04", 2, shift=0, seed=2)
    replay = tmp_path / "later.csv"
    later.to_csv(replay, index=False)
    source_lines = replay.read_text().splitlines()
    landing = tmp_path / "landing"
    acknowledged = tmp_path / "acknowledged.jsonl"
    with ServiceProcess(home.bentoml_home, tmp_path / "service.log", home.prediction_logs) as svc:
        generator = TrafficGenerator(
            settings,
            svc.url,
            landing,
            0,
            n_days=None,  # the file's days, then it stops
            day_seconds=0.2,
            acknowledged_path=acknowledged,
            days=FileDays(replay, settings),
        )
        generator.run()
    assert [day.day for day in generator.days] == ["2026-03-04", "2026-03-05"]
    assert all(day.versions == {1} and day.accuracy > 0.8 for day in generator.days)
    landed = sorted(landing.glob("traffic-*.csv"))
    assert [p.name for p in landed] == ["traffic-2026-03-04.csv", "traffic-2026-03-05.csv"]
    # each day lands as the user wrote it: its lines are the source file's, in order
    landed_lines = [line for p in landed for line in p.read_text().splitlines()[1:]]
    assert landed_lines == source_lines[1:]
    records = [json.loads(line) for line in acknowledged.read_text().splitlines()]
    predicted = [i for r in records if r["kind"] == "prediction" for i in r["ids"]]
    given = [i for r in records if r["kind"] == "feedback" for i in r["ids"]]
    assert len(predicted) == len(later) and sorted(given) == sorted(predicted)

    ingest_service_logs(home.prediction_logs)
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        labels = conn.execute("SELECT count(*) FROM labelled_predictions").fetchone()[0]
    assert labels == len(later)
