"""Every feature kind (numeric, nullable, boolean, categorical, many categories) through
ingestion into DuckDB, every model family, both drift engines and the holdout evaluation."""

import duckdb
import pytest

from continual_ml import ingestion
from continual_ml.monitoring.drift_engine import build_profile, check_drift
from continual_ml.monitoring.evidently_report import compute_drift
from continual_ml.training.evaluation import evaluate_on_holdout
from continual_ml.training.pipeline import fit_candidate, serialize_model, split_window
from continual_ml_tests.support.user_data import mixed_config, mixed_rows

FAMILIES = ["logistic_regression", "random_forest", "hist_gradient_boosting"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Four days of mixed rows as the warehouse gives them back (DuckDB's own dtypes)."""
    folder = tmp_path_factory.mktemp("mixed")
    config = mixed_config(many_categories=True)
    path = folder / "history.csv"
    mixed_rows("2026-02-01", days=4).to_csv(path, index=False)
    with duckdb.connect(str(folder / "warehouse.duckdb")) as conn:
        report = ingestion.ingest_file(conn, config, path)
        assert report.rows_quarantined == 0
        rows = conn.execute("SELECT * FROM observations ORDER BY event_time, row_id").df()
    assert rows["flag"].isna().any() and rows["income"].isna().any()
    return rows


@pytest.mark.parametrize("many_categories", [False, True])
@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_trains_and_evaluates_on_every_feature_kind(stored, family, many_categories):
    config = mixed_config(family, many_categories, slice_column="flag")
    split = split_window(stored, 0.3)
    artifact, sha256 = serialize_model(fit_candidate(config, split.train))
    evaluation = evaluate_on_holdout(
        config, split.holdout, {"version": 1, "artifact": artifact, "sha256": sha256}, None
    )
    assert evaluation.candidate_report["accuracy"] > 0.8
    # the boolean slices: True, False and the rows that left it empty
    assert set(evaluation.scores["slice"]) == {"all", "True", "False", "None"}


def test_hist_gradient_boosting_splits_few_categories_natively(stored):
    model = fit_candidate(mixed_config("hist_gradient_boosting"), stored)
    assert model.named_steps["classifier"].is_categorical_.sum() == 15


def test_drift_is_measured_on_booleans_by_both_engines(stored, tmp_path):
    config = mixed_config(many_categories=True)
    days = sorted(stored["partition_date"].unique())
    reference = stored[stored["partition_date"].isin(days[:2])]
    current = stored[stored["partition_date"] == days[3]].copy()
    current["flag"] = current["flag"].fillna(True) | True  # every row now flagged
    kinds = {f.name: f.kind for f in config.features}
    profile = build_profile(
        reference[config.feature_names],
        numeric_features=config.numeric_features,
        categorical_features=[name for name, kind in kinds.items() if kind != "numeric"],
    )
    ours = {f.feature: f for f in check_drift(profile, current).features}
    evidently = {
        f.feature: f
        for f in compute_drift(config, reference, current, tmp_path / "r.html").features
    }
    assert ours["flag"].drifted and evidently["flag"].drifted
    assert not ours["amount"].drifted and not evidently["amount"].drifted
    assert set(ours) == set(evidently) == set(config.feature_names)
