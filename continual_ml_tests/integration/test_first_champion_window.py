"""`bootstrap` on a long history: the first champion's window is chosen, not fixed."""

import duckdb
from mlflow.tracking import MlflowClient

from continual_ml.app import cli
from continual_ml_tests.support.user_data import mixed_config, mixed_rows, use_config

DAYS, PER_DAY = 40, 30


def test_bootstrap_trains_the_first_champion_on_the_window_that_validates_best(
    home, config, tmp_path, monkeypatch, capsys
):
    # 30 rows a day of a stable concept with 18 inputs: 3 days (90 rows) learn it worse than 40
    settings = mixed_config(
        "logistic_regression",
        training_window={"candidates_days": [3, "all"], "validation_rows": 150},
    )
    use_config(settings, tmp_path / "loans.yaml", monkeypatch)
    history = tmp_path / "history.csv"
    mixed_rows("2026-02-01", days=DAYS, per_day=PER_DAY, seed=4).to_csv(history, index=False)
    assert cli.main(["ingest", str(history)]) == 0
    capsys.readouterr()

    assert cli.main(["bootstrap"]) == 0
    said = capsys.readouterr().out.splitlines()
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        [(start, end, n_train, run_id)] = conn.execute(
            "SELECT training_start, training_end, n_train, mlflow_run_id FROM model_registry "
            "WHERE status = 'champion'"
        ).fetchall()
    assert (str(start), str(end)) == ("2026-02-01", "2026-03-12")
    assert n_train > 3 * PER_DAY
    assert any(line.startswith("  window all: 2026-02-01 .. 2026-03-12") for line in said)
    run = MlflowClient(home.mlflow_tracking_uri).get_run(run_id)
    assert run.data.params["training_window"] == "all"
    assert run.data.params["training_window_candidates"] == "all,3d"
    scores = run.data.metrics
    assert scores["window_score_all"] > scores["window_score_3d"]
