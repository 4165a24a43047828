"""The demo scenario end to end, in a short form, through the real command line."""

import csv
import os
import subprocess
import sys

import yaml

from continual_ml.config import DEFAULT_CONFIG


def test_the_short_demo_detects_drift_retrains_and_swaps_the_served_model(tmp_path):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["stream"].update(rows_per_day=800, drift_day=5)
    config_path = tmp_path / "short.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    home = tmp_path / "home"
    env = {**os.environ, "CONTINUAL_ML_CONFIG": str(config_path), "CONTINUAL_ML_HOME": str(home)}
    for name in ("DAGSTER_HOME", "BENTOML_HOME", "MLFLOW_TRACKING_URI", "CONTINUAL_ML_WAREHOUSE"):
        env.pop(name, None)

    completed = subprocess.run(
        [sys.executable, "-m", "continual_ml.cli", "demo", "--days", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    with (home / "demo_timeline.csv").open() as handle:
        timeline = {row["day"]: row for row in csv.DictReader(handle)}

    calm, drifted = timeline["2026-01-05"], timeline["2026-01-06"]
    assert float(calm["drift_share"]) == 0.0 and "sensor skipped" in calm["events"]
    assert float(drifted["drift_share"]) > 0.3
    assert "retrain v2 promoted" in drifted["events"]
    assert "service swapped to v2" in drifted["events"]
    # The old champion served the drifted day; its successors serve the days after.
    assert drifted["served_versions"] == "1"
    last = timeline["2026-01-09"]
    assert int(last["served_versions"]) >= 2
    assert float(last["served_accuracy"]) > float(drifted["served_accuracy"]) + 0.3
    assert (home / "dagster_home" / "dagster.yaml").exists()
    assert "demo finished" in completed.stdout

    # What the demo leaves behind reads as the story it played: every prediction it was answered
    # is in DuckDB with its label, and each served version has a realized accuracy.
    import duckdb

    served_rows = 800 * (9 - 3)  # the days after the three bootstrap days
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == served_rows
        assert conn.execute("SELECT count(*) FROM labelled_predictions").fetchone()[0] == (
            served_rows
        )
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    try:
        with dg.DagsterInstance.get() as instance:
            [event] = instance.fetch_materializations(
                dg.AssetKey("served_model_performance"), limit=1
            ).records
            failed = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        realized = event.asset_materialization.metadata["realized_accuracy"].value
        assert 0.5 < realized <= 1.0
        assert failed == []  # a refused candidate is a decision, not a failed run
    finally:
        os.environ.pop("DAGSTER_HOME")
