"""The split-conformal calibration a regression champion is exported with, so that the service
answers each number with an interval (`serving.numeric_scoring`).

It is calibrated on the champion's own holdout residuals (`regression_holdout`): rows the model
was not fitted on, which is what makes ``prediction ± half_width`` cover the truth at the nominal
level on exchangeable rows (`training.conformal`).
"""

from __future__ import annotations

import duckdb

from continual_ml.training.conformal import DEFAULT_LEVEL, calibrate, minimum_rows
from continual_ml.warehouse.regression_evaluations import regression_holdout


def holdout_calibration(
    conn: duckdb.DuckDBPyConnection, version: int, level: float = DEFAULT_LEVEL
) -> dict | None:
    """`version`'s calibration as its manifest holds it, or None with too few holdout rows."""
    holdout = regression_holdout(conn, version)
    if len(holdout) < minimum_rows(level):
        return None
    return calibrate(holdout["truth"], holdout["candidate_prediction"], level).to_dict()
