"""`evaluation_scores`' metadata for a regression candidate: the plots first, headline errors of
both models, tables, and an undefined MAPE named with its reason instead of a NaN."""

import json

import dagster as dg
import numpy as np
import pytest

from continual_ml.defs.training.regression_evaluation import regression_metadata
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml.training.regression_evaluation import evaluate_regression_on_holdout
from continual_ml_tests.support.regression_data import regression_config, regression_days


def keyed(rows):
    return rows.assign(
        row_id=rows["sale_id"], event_time=rows["sold_at"], partition_date=rows["sold_at"].dt.date
    )


def test_the_metadata_shows_plots_scores_and_why_a_score_is_missing(tmp_path):
    config = regression_config()
    rows = keyed(regression_days("2026-03-01", 2, seed=0))
    models = []
    for version, train in ((1, rows.iloc[:150]), (2, rows.iloc[:300])):
        artifact, sha256 = serialize_model(fit_candidate(config, train))
        models.append({"version": version, "artifact": artifact, "sha256": sha256})
    holdout = rows.iloc[300:].copy()
    holdout.loc[holdout.index[0], "price"] = 0.0  # an actual of zero: MAPE is undefined
    evaluation = evaluate_regression_on_holdout(config, holdout, models[1], models[0])
    plots = evaluation.save_plots(tmp_path)
    metadata = regression_metadata(evaluation, models[1], models[0], plots)
    assert list(metadata)[0] == "plots"
    assert "predicted_vs_actual" in metadata["plots"].value
    for role in ("candidate", "champion"):
        assert {f"{role}_mae", f"{role}_rmse", f"{role}_r2"} <= set(metadata)
        assert f"{role}_mape" not in metadata
    assert "candidate mape: an actual is zero" in metadata["undefined_metrics"].value
    errors = evaluation.holdout["candidate_prediction"] - evaluation.holdout["truth"]
    assert metadata["candidate_mae"] == pytest.approx(np.mean(np.abs(errors)))
    assert "n/a" in metadata["scores"].value  # the undefined MAPE in the table
    # what Dagster stores: JSON without NaN
    json.dumps(
        {k: v.value if isinstance(v, dg.MetadataValue) else v for k, v in metadata.items()},
        allow_nan=False,
    )
