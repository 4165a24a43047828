"""A feature missing more often than in the reference is reported, though no distribution test
(ours or Evidently's) can see it."""

import dagster as dg
import duckdb

from continual_ml.defs.data.assets import current_window, reference_window
from continual_ml.defs.monitoring.assets import drift_report
from continual_ml.defs.resources import build_resources
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml_tests.support.synthetic_days import land_days


def test_drift_report_reports_a_feature_that_went_missing(home, config, instance):
    resources = build_resources(home)
    land_days([partition_date(config, i) for i in range(4)], home, resources, instance)
    day = partition_date(config, 3)
    with duckdb.connect(str(home.warehouse)) as conn:
        conn.execute(
            "UPDATE observations SET x0 = NULL WHERE partition_date = ? AND hash(row_id) % 5 = 0",
            [day],
        )
    result = dg.materialize(
        [current_window, reference_window, drift_report],
        partition_key=str(day),
        resources=resources,
        instance=instance,
    )
    [event] = result.asset_materializations_for_node("drift_report")
    shifts = event.metadata["missing_value_shifts"].value
    assert shifts.startswith("x0: 0.0% -> ") and "segment" not in shifts
