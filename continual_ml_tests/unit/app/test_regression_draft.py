"""`continual-ml init --from FILE` drafts `task: regression`, marked for review, when the label
is a quantity; integer codes of many classes stay a classification."""

import duckdb
import numpy as np

from continual_ml import ingestion
from continual_ml.app.config_draft import draft_config
from continual_ml.config import load_config
from continual_ml_tests.support.regression_data import regression_days


def test_a_numeric_label_with_many_values_is_drafted_as_regression(tmp_path):
    sample = tmp_path / "sales.csv"
    regression_days("2026-03-01", 2, seed=0).rename(columns={"price": "target"}).to_csv(
        sample, index=False
    )
    draft = draft_config(sample)
    assert draft.config["task"] == "regression" and "classes" not in draft.config
    assert "task" in draft.review
    text = draft.yaml_text()
    assert "task: regression  # REVIEW" in text
    assert any("drafted as `task: regression`" in note for note in draft.notes)
    path = tmp_path / "dataset.yaml"
    path.write_text(text)
    config = load_config(path)
    assert config.regression and config.label == "target"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        report = ingestion.ingest_file(conn, config, sample)
    assert (report.rows_good, report.rows_quarantined) == (400, 0)


def test_integer_codes_of_many_classes_stay_classes(tmp_path):
    sample = tmp_path / "grades.csv"
    rows = regression_days("2026-03-01", 2, seed=0).rename(columns={"price": "target"})
    rows["target"] = np.arange(len(rows)) % 30  # thirty grades, 0..29
    rows.to_csv(sample, index=False)
    draft = draft_config(sample)
    assert "task" not in draft.config
    assert draft.config["classes"] == list(range(30))


def test_few_distinct_numbers_stay_classes(tmp_path):
    sample = tmp_path / "binary.csv"
    rows = regression_days("2026-03-01", 1, seed=0).rename(columns={"price": "target"})
    rows["target"] = (rows["target"] > 10).astype(int)
    rows.to_csv(sample, index=False)
    assert draft_config(sample).config["classes"] == [0, 1]
