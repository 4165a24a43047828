"""How each model version does on the traffic it really served: volume, classes (or numbers),
latency, and accuracy (or error) on the predictions whose true label came back as feedback."""

from __future__ import annotations

import duckdb
import pandas as pd

CLASS_QUALITY = """
               avg(CASE WHEN l.label IS NOT NULL
                        THEN CAST(p.predicted_class = l.label AS DOUBLE) END) AS realized_accuracy,
               -- class 1's share; empty for text classes
               avg(TRY_CAST(p.predicted_class AS DOUBLE)) AS predicted_positive_rate,"""
# A regression champion's error in the label's units, on the labelled predictions only.
NUMBER_QUALITY = """
               avg(abs(p.prediction - l.label)) AS realized_mae,
               sqrt(avg((p.prediction - l.label) ^ 2)) AS realized_rmse,
               avg(p.prediction) AS mean_prediction,"""


def served_performance(conn: duckdb.DuckDBPyConnection, regression: bool = False) -> pd.DataFrame:
    """One row per model version, newest version first, from the ingested prediction logs.

    A regression dataset's versions have their mean absolute and root mean squared errors in
    place of the accuracy and the share of class 1.
    """
    return conn.execute(
        f"""
        SELECT p.model_version,
               count(*) AS n_predictions,
               count(l.label) AS n_labelled,{NUMBER_QUALITY if regression else CLASS_QUALITY}
               quantile_cont(p.latency_ms, 0.5) AS latency_p50_ms,
               quantile_cont(p.latency_ms, 0.99) AS latency_p99_ms,
               min(p.served_at) AS first_served_at,
               max(p.served_at) AS last_served_at
        FROM predictions AS p
        LEFT JOIN labelled_predictions AS l USING (prediction_id)
        GROUP BY p.model_version
        ORDER BY p.model_version DESC
        """
    ).df()
