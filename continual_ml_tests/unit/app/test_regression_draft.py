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


def test_a_label_not_named_like_one_is_taken_from_the_command_line(tmp_path, capsys):
    """`init --from FILE --label approval`: the user names the label, so it is neither guessed
    nor marked for review, and a number with many values drafts `task: regression`."""
    from continual_ml.app.cli import main

    sample = tmp_path / "polls.csv"
    regression_days("2026-03-01", 2, seed=0).rename(columns={"price": "approval"}).to_csv(
        sample, index=False
    )
    guessed = draft_config(sample)
    assert guessed.config["label"] != "approval"  # not named like a label: drafted a feature
    assert "approval" in [f["name"] for f in guessed.config["features"]]
    out = tmp_path / "dataset.yaml"
    assert main(["init", "--from", str(sample), "--out", str(out), "--label", "approval"]) == 0
    config = load_config(out)
    assert config.label == "approval" and config.regression
    assert "approval" not in config.feature_names
    assert "label: approval\n" in out.read_text()  # no REVIEW mark on what the user said
    assert main(["init", "--from", str(sample), "--out", str(tmp_path / "b.yaml"), "--label", "x"])
    error = capsys.readouterr().err
    assert "--label 'x' is not a column of polls.csv" in error and "approval" in error
