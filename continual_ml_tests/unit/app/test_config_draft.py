"""`continual-ml init --from FILE`: a valid dataset YAML drafted from a sample, guesses marked."""

import itertools

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from river import datasets

from continual_ml import ingestion
from continual_ml.app import cli
from continual_ml.app.config_draft import draft_config
from continual_ml.config import load_config
from continual_ml_tests.support.user_data import CATEGORIES, mixed_rows


def test_a_users_file_becomes_a_config_that_ingests_it_whole(tmp_path):
    sample = tmp_path / "loans.csv"
    mixed_rows("2026-02-01", days=2).drop(columns=["city"]).to_csv(sample, index=False)
    draft = draft_config(sample)
    config = draft.config
    assert (config["id_column"], config["event_time_column"], config["label"]) == (
        "loan_id",
        "applied_at",
        "approved",
    )
    assert config["first_day"] == "2026-02-01"
    kinds = {f["name"]: (f["kind"], f.get("nullable", False)) for f in config["features"]}
    assert kinds["amount"] == ("numeric", False)
    assert kinds["income"] == ("numeric", True)
    assert kinds["flag"] == ("boolean", True)
    assert kinds["cat3"] == ("categorical", False)
    assert [f for f in config["features"] if f["name"] == "cat3"][0]["categories"] == list(
        CATEGORIES
    )
    assert any("label `approved` is a guess" in note for note in draft.notes)

    path = tmp_path / "dataset.yaml"
    path.write_text(draft.yaml_text())
    assert path.read_text().startswith("# Drafted by")
    loaded = load_config(path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        report = ingestion.ingest_file(conn, loaded, sample)
    assert (report.rows_good, report.rows_quarantined) == (300, 0)


def test_init_from_drafts_river_phishing_with_text_labels_marked_for_review(tmp_path, capsys):
    rows = pd.DataFrame(
        [
            {**x, "is_phishing": "yes" if y else "no"}
            for x, y in itertools.islice(datasets.Phishing(), 200)
        ]
    )
    rows["ip_in_url"] = rows["ip_in_url"].astype(bool)
    rows.insert(0, "url_id", [f"u{i}" for i in range(len(rows))])
    rows.insert(1, "seen_at", pd.date_range("2026-03-01", periods=len(rows), freq="h"))
    sample = tmp_path / "phishing.parquet"
    rows.to_parquet(sample)
    out = tmp_path / "phishing.yaml"
    assert cli.main(["init", "--from", str(sample), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"drafted {out}: 9 features (boolean, numeric), valid"
    assert (
        "  review: classes 'no', 'yes' are in sorted order: list them in the order the service "
        "should report them" in printed
    )
    config = load_config(out)
    assert config.classes == ("no", "yes") and not config.binary
    assert (config.label, config.id_column, config.event_time_column) == (
        "is_phishing",
        "url_id",
        "seen_at",
    )
    assert [f.name for f in config.features if f.kind == "boolean"] == ["ip_in_url"]
    with pytest.raises(SystemExit):
        cli.main(["init", "--from"])
    assert cli.main(["init", "--from", str(sample), "--out", str(out)]) == 1  # never overwrites


def test_init_validates_the_config_and_says_what_is_wrong_in_one_line(
    home, tmp_path, monkeypatch, capfd
):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: loans\nlabel: approved\nfeatures:\n"
        "  - {name: amount, kind: numeric}\n"
        "  - {name: region, kind: categorical}\n"  # no categories listed
        "model: {familly: logistic_regression}\n"  # a typo
    )
    monkeypatch.setenv("CONTINUAL_ML_CONFIG", str(broken))
    capfd.readouterr()
    assert cli.main(["init"]) == 1
    out, err = capfd.readouterr()
    [line] = err.strip().splitlines()
    assert line.startswith("continual-ml init: ")
    assert "categorical features need `categories`" in line and "familly" in line
    assert "Traceback" not in out + err


def cards(n_rows: int = 600, per_day: int = 60) -> pd.DataFrame:
    """Three text classes in `y_true`, beside several two-valued columns (issue 25's cards)."""
    rng = np.random.default_rng(25)
    return pd.DataFrame(
        {
            "card_id": [f"c{i}" for i in range(n_rows)],
            "swiped_at": pd.Timestamp("2026-04-01")
            + pd.to_timedelta(np.arange(n_rows) * (86_000 // per_day), "s"),
            "amount": rng.gamma(2.0, 30.0, n_rows).round(2),
            "online": rng.choice(["yes", "no"], n_rows),
            "chip": rng.integers(0, 2, n_rows),
            "y_true": rng.choice(["fraud", "ok", "review"], n_rows),
            "foreign": rng.choice(["yes", "no"], n_rows),
        }
    )


def test_a_column_named_like_a_label_is_the_label_and_never_a_feature(tmp_path):
    sample = tmp_path / "cards.csv"
    cards().to_csv(sample, index=False)
    draft = draft_config(sample)
    assert draft.config["label"] == "y_true"
    assert draft.config["classes"] == ["fraud", "ok", "review"]
    assert "y_true" not in [f["name"] for f in draft.config["features"]]
    assert {"online", "chip", "foreign"} <= {f["name"] for f in draft.config["features"]}
    assert "label: y_true  # REVIEW" in draft.yaml_text().splitlines()


def test_a_pq_file_is_read_as_parquet(tmp_path, capsys):
    sample = tmp_path / "cards.pq"
    cards().to_parquet(sample)
    out = tmp_path / "cards.yaml"
    assert cli.main(["init", "--from", str(sample), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"drafted {out}: 4 features")
    config = load_config(out)
    assert (config.id_column, config.event_time_column, config.label) == (
        "card_id",
        "swiped_at",
        "y_true",
    )


def test_the_name_and_the_candidate_windows_are_marked_for_review(tmp_path):
    sample = tmp_path / "history.csv"
    cards(n_rows=1650, per_day=165).to_csv(sample, index=False)
    text = draft_config(sample).yaml_text()
    lines = text.splitlines()
    assert "name: history  # REVIEW" in lines
    assert "  training_window:  # REVIEW" in lines
    window = yaml.safe_load(text)["model"]["training_window"]
    # 165 rows a day: a week is the shortest window holding 1,000 rows
    assert window["candidates_days"] == [7, 30, 90, "all"]
    assert window["min_rows"] == 1000
    assert any("about 165 rows a day" in line for line in lines if line.startswith("# REVIEW"))
    assert draft_config(sample, name="cards").config["name"] == "cards"
    assert "name: cards" in draft_config(sample, name="cards").yaml_text().splitlines()
