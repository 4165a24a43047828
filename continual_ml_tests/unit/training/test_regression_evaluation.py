"""A regression candidate and the champion scored on the same holdout rows: per-row predictions
for the gate, scores by role and slice, and the two plots as PNGs."""

import numpy as np
import pytest

from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml.training.regression_evaluation import evaluate_regression_on_holdout
from continual_ml_tests.support.regression_data import regression_config, regression_days


def with_keys(rows):
    return rows.assign(
        row_id=rows["sale_id"], event_time=rows["sold_at"], partition_date=rows["sold_at"].dt.date
    )


def registered(config, rows, version: int) -> dict:
    artifact, sha256 = serialize_model(fit_candidate(config, rows))
    return {"version": version, "artifact": artifact, "sha256": sha256}


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    config = regression_config(slice_column="segment")
    before = with_keys(regression_days("2026-03-01", 1, seed=0))
    after = with_keys(regression_days("2026-03-02", 2, seed=1, shift=True))
    champion = registered(config, before, 1)
    candidate = registered(config, after.iloc[:200], 2)
    holdout = after.iloc[200:]
    return holdout, evaluate_regression_on_holdout(config, holdout, candidate, champion)


def test_both_models_predict_every_holdout_row(evaluation):
    holdout, result = evaluation
    rows = result.holdout
    assert rows["row_id"].tolist() == holdout["row_id"].tolist()
    assert np.allclose(rows["truth"], holdout["price"])
    assert rows[["candidate_prediction", "champion_prediction"]].notna().all().all()
    assert set(rows["champion_version"]) == {1} and set(rows["candidate_version"]) == {2}


def test_scores_by_role_and_slice_match_the_rows(evaluation):
    _, result = evaluation
    scores = result.scores.set_index(["role", "slice"])
    assert set(scores.index.get_level_values("slice")) == {"all", "north", "south", "west"}
    rows = result.holdout
    mae = np.mean(np.abs(rows["candidate_prediction"] - rows["truth"]))
    assert scores.loc[("candidate", "all"), "mae"] == pytest.approx(mae)
    assert result.candidate_report["mae"] == pytest.approx(mae)
    # the champion learned the concept before the shift: it errs far more
    assert scores.loc[("champion", "all"), "mae"] > 3 * mae
    assert scores.loc[("candidate", "all"), "n"] == len(rows)


def test_the_plots_are_written_as_pngs(evaluation, tmp_path):
    _, result = evaluation
    paths = result.save_plots(tmp_path / "plots")
    assert set(paths) == {"predicted_vs_actual", "residuals"}
    for path in paths.values():
        assert path.read_bytes().startswith(b"\x89PNG")


def test_the_holdout_interval_report_measures_coverage_without_a_rows_own_residual():
    import numpy as np

    from continual_ml.training.regression_evaluation import interval_report

    rng = np.random.default_rng(7)
    truth = rng.normal(size=4000)
    report = interval_report(truth, np.zeros_like(truth))
    assert report["interval_level"] == 0.9
    assert abs(report["interval_coverage"] - 0.9) < 0.02  # binomial sd 0.005 at 4,000 rows
    assert 2 * 1.5 < report["interval_width"] < 2 * 1.8  # 2 x the normal's 95th percentile 1.645


def test_a_holdout_too_small_for_two_folds_leaves_the_interval_undefined_and_says_why():
    from continual_ml.training.regression_evaluation import interval_report

    report = interval_report([1.0] * 17, [1.0] * 17)
    assert report["interval_coverage"] != report["interval_coverage"]  # NaN
    why = "fewer than 18 holdout rows"
    assert report["undefined"] == {"interval_coverage": why, "interval_width": why}


def test_no_row_is_in_the_calibration_of_its_own_interval():
    """Residuals of 1 on even rows and 10 on odd ones: calibrated on all twenty, every interval
    would cover (half-width 10); each fold's interval comes from the other fold's residuals, so
    the odd rows, judged by the even rows' 1, are all missed."""
    from continual_ml.training.regression_evaluation import interval_report

    truth = [1.0 if i % 2 == 0 else 10.0 for i in range(20)]
    assert interval_report(truth, [0.0] * 20)["interval_coverage"] == 0.5
