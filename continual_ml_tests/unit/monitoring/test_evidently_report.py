import pandas as pd

from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.monitoring.evidently_report import compute_drift, prune_reports


def days(config, indices):
    return pd.concat([generate_batch(config, partition_date(config, i)) for i in indices])


def test_no_drift_within_the_same_regime(config, tmp_path):
    summary = compute_drift(config, days(config, [0, 1, 2]), days(config, [5]), tmp_path / "r.html")
    assert summary.drift_share == 0.0
    assert [f.feature for f in summary.features] == config.feature_names
    assert (tmp_path / "r.html").stat().st_size > 10_000


def test_the_shifted_features_are_the_drifted_ones(config, tmp_path):
    drifted = days(config, [config.stream.drift_day])
    summary = compute_drift(config, days(config, [0, 1, 2]), drifted, tmp_path / "r.html")
    assert {f.feature for f in summary.features if f.drifted} == {"x0", "x1", "x2", "segment"}
    assert summary.drift_share == 4 / 6
    assert summary.top(1)[0].feature == "x0"
    methods = {f.feature: f.method for f in summary.features}
    assert "Wasserstein" in methods["x0"] and "Jensen-Shannon" in methods["segment"]


def test_small_samples_use_a_statistical_test(config, tmp_path):
    reference, current = (
        days(config, [0]).head(300),
        days(config, [config.stream.drift_day]).head(300),
    )
    summary = compute_drift(config, reference, current, tmp_path / "r.html")
    x0 = next(f for f in summary.features if f.feature == "x0")
    assert "p_value" in x0.method and x0.drifted and x0.score < x0.threshold


def test_the_html_report_judges_dataset_drift_with_the_policys_share(config, tmp_path):
    """Between the policy's 0.30 and Evidently's default 0.50 the page must say drift too."""
    assert config.policy.drift_share_threshold == 0.3
    current = days(config, [config.stream.drift_day]).drop(columns=["x1", "x2"])
    current[["x1", "x2"]] = days(config, [5])[["x1", "x2"]].to_numpy()
    summary = compute_drift(config, days(config, [0, 1, 2]), current, tmp_path / "r.html")
    assert 0.3 <= summary.drift_share < 0.5
    page = (tmp_path / "r.html").read_text()
    assert "Dataset Drift is detected. Dataset drift detection threshold is 0.3" in page


def test_only_the_newest_reports_are_kept(tmp_path):
    for day in ("2026-01-09", "2026-01-10", "2026-01-11", "2025-12-31"):
        (tmp_path / f"{day}.html").write_text("<html/>")
    pruned = prune_reports(tmp_path, keep=2)
    assert sorted(p.stem for p in pruned) == ["2025-12-31", "2026-01-09"]
    assert sorted(p.stem for p in tmp_path.glob("*.html")) == ["2026-01-10", "2026-01-11"]
