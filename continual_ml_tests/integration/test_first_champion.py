"""A fresh home with a user's dataset: history ingested from the command line, the first
champion trained on it (by `bootstrap` and by `up`), and errors said in one line."""

import duckdb
import pytest
import yaml

from continual_ml.app import cli
from continual_ml.app.cli.up import bootstrap
from continual_ml.models.store import read_pointer
from continual_ml_tests.support.user_data import mixed_config, mixed_rows, use_config


@pytest.fixture
def user_dataset(home, config, tmp_path, monkeypatch):
    """The user's config in CONTINUAL_ML_CONFIG and four days of their history in a CSV.

    `config` is requested first so the process-wide default stays the demo's for other tests.
    """
    path = tmp_path / "loans.yaml"
    settings = use_config(mixed_config("hist_gradient_boosting"), path, monkeypatch)
    history = tmp_path / "history.csv"
    mixed_rows("2026-02-01", days=4).to_csv(history, index=False)
    return settings, history, path


def champion(home):
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(
            "SELECT version, family, training_start, training_end FROM model_registry "
            "WHERE status = 'champion'"
        ).fetchall()


def test_up_on_a_fresh_home_trains_the_first_champion_on_the_users_history(
    home, user_dataset, capfd
):
    settings, history, _ = user_dataset
    assert cli.main(["ingest", str(history)]) == 0
    said = []
    bootstrap(home, settings, said.append)
    [(version, family, start, end)] = champion(home)
    assert (family, str(start), str(end)) == ("hist_gradient_boosting", "2026-02-02", "2026-02-04")
    assert read_pointer(home.bentoml_home)["version"] == version
    assert said[-1] == f"  promoted v{version}"


def test_bootstrap_from_the_command_line_saying_each_error_in_one_line(home, user_dataset, capfd):
    _, history, _ = user_dataset
    assert cli.main(["bootstrap"]) == 1
    out, err = capfd.readouterr()
    [line] = err.strip().splitlines()
    assert "no labelled observations" in line and "continual-ml ingest" in line
    assert (home.home / "logs" / "cli.log").read_text().count("NoHistory") >= 1

    assert cli.main(["ingest", str(history)]) == 0
    out, err = capfd.readouterr()
    assert out.strip().splitlines() == [
        "history.csv: ingested, 600 rows in, 0 quarantined",
        "1 files (1 ingested): 600 rows in, 0 quarantined",
    ]
    assert "DEBUG" not in err

    assert cli.main(["bootstrap"]) == 0
    [(version, *_)] = champion(home)
    assert cli.main(["bootstrap"]) == 0
    out, _ = capfd.readouterr()
    assert out.strip().splitlines()[-1] == (
        f"champion v{version} is in charge already; nothing to bootstrap"
    )

    assert cli.main(["rollback"]) == 1
    _, err = capfd.readouterr()
    assert err.strip().splitlines() == [
        "continual-ml rollback: there is no previous champion to roll back to "
        f"(details: {home.home / 'logs' / 'cli.log'})"
    ]


def test_a_file_quarantined_for_a_config_typo_is_ingested_on_purpose_after_the_fix(
    home, user_dataset, capfd
):
    settings, history, config_path = user_dataset
    raw = settings.model_dump(mode="json")
    config_path.write_text(yaml.safe_dump({**raw, "event_time_column": "ts"}))
    assert cli.main(["ingest", str(history)]) == 0
    config_path.write_text(yaml.safe_dump(raw))  # fixed
    assert cli.main(["ingest", str(history)]) == 0  # the same bytes: skipped by their sha256
    assert cli.main(["ingest", "--force", str(history)]) == 0
    out, _ = capfd.readouterr()
    first, _, skipped, _, forced, summary = out.strip().splitlines()
    assert first.startswith("history.csv: quarantined, 0 rows in") and "ts" in first
    assert skipped.startswith("history.csv: skipped") and "already quarantined" in skipped
    assert (forced, summary) == (
        "history.csv: ingested, 600 rows in, 0 quarantined",
        "1 files (1 ingested): 600 rows in, 0 quarantined",
    )
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM observations").fetchone() == (600,)
