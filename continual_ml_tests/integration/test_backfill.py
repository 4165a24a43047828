"""Onboarding history: `continual-ml backfill` monitors every ingested day in one run, each day
with its own measurements, and the retraining policy decides on the newest day only."""

import re

import dagster as dg
import duckdb
import pytest

from continual_ml.app import cli
from continual_ml.definitions import defs
from continual_ml.defs.automation import drift_retrain_sensor
from continual_ml.defs.resources import DatasetResource
from continual_ml_tests.support.user_data import mixed_config, mixed_rows, use_config

DAYS = [f"2026-02-{d:02d}" for d in range(1, 7)]


@pytest.fixture
def onboarded(home, config, tmp_path, monkeypatch):
    """Six days of a user's history ingested and a first champion trained on them."""
    path = tmp_path / "loans.yaml"
    use_config(mixed_config(), path, monkeypatch)
    history = mixed_rows("2026-02-01", days=len(DAYS), per_day=200)
    shifted = history["applied_at"] >= "2026-02-04"  # the amounts drift half way
    history.loc[shifted, "amount"] += 3.0
    history.to_csv(tmp_path / "history.csv", index=False)
    assert cli.main(["ingest", str(tmp_path / "history.csv")]) == 0
    assert cli.main(["bootstrap"]) == 0
    return path


def test_a_backfill_monitors_every_ingested_day_in_one_run(onboarded, capfd):
    capfd.readouterr()
    assert cli.main(["backfill"]) == 0
    out = capfd.readouterr().out
    assert f"monitored 6 days, {DAYS[0]} .. {DAYS[-1]}, in one run" in out
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_run_records(dg.RunsFilter(tags={"continual_ml/trigger": "backfill"}))
        for asset in ("drift_report", "model_performance"):
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=50).records
            assert sorted(r.asset_materialization.partition for r in records) == DAYS
            assert {r.run_id for r in records} == {run.dagster_run.run_id}
        drift = {
            r.asset_materialization.partition: r.asset_materialization.metadata["drift_share"].value
            for r in instance.fetch_materializations(dg.AssetKey("drift_report"), limit=50).records
        }
    with duckdb.connect(str(onboarded.parent / "home" / "warehouse.duckdb"), read_only=True) as c:
        stored = dict(
            c.execute(
                "SELECT strftime(partition_date, '%Y-%m-%d'), drift_share FROM drift_reports"
            ).fetchall()
        )
        performance_days = c.execute("SELECT count(*) FROM performance_history").fetchone()[0]
    # each day its own measurement, not one shared by the run's days
    assert drift == pytest.approx(stored) and len(set(drift.values())) > 1
    assert performance_days == len(DAYS)


def test_the_policy_decides_on_the_newest_day_of_a_backfill(onboarded):
    assert cli.main(["backfill"]) == 0
    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(
            instance=instance,
            definitions=defs,
            resources={"dataset": DatasetResource(config_path=str(onboarded))},
        )
        result = drift_retrain_sensor.evaluate_tick(context)
    # each decision is a request, or a skip reason starting with its day
    decided = [r.partition_key for r in result.run_requests] or re.findall(
        r"(?:^|; )(\d{4}-\d{2}-\d{2}): ", result.skip_message
    )
    assert decided == [DAYS[-1]]


def test_a_backfill_of_no_days_says_why(onboarded, capfd):
    assert cli.main(["backfill", "--start", DAYS[3], "--end", DAYS[0]]) == 1
    assert f"--start {DAYS[3]} is after --end {DAYS[0]}" in capfd.readouterr().err
