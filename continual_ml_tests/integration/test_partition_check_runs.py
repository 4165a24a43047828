import dagster as dg
import duckdb

from continual_ml.defs.data.assets import observations
from continual_ml.defs.data.checks import observations_are_valid
from continual_ml.defs.resources import build_resources
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml_tests.support.synthetic_days import landed


def test_the_check_runs_on_a_landed_partition_and_records_its_verdict(home, config, instance):
    result = dg.materialize(
        [observations, observations_are_valid],
        partition_key=str(partition_date(config, 0)),
        run_config=landed(partition_date(config, 0), home.home / "batches"),
        resources=build_resources(home),
        instance=instance,
    )
    [evaluation] = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert evaluation.passed and evaluation.metadata["failed_rules"].value == 0
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        assert conn.execute("SELECT passed, n_rows FROM partition_validation").fetchall() == [
            (True, config.stream.rows_per_day)
        ]
