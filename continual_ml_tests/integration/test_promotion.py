"""Promotion, rollback and approval across DuckDB, the MLflow registry and the BentoML store."""

import shutil

import dagster as dg
import duckdb
import pytest
import yaml
from mlflow.tracking import MlflowClient

from continual_ml.app.cli import main
from continual_ml.app.local_home import prepare
from continual_ml.config import DEFAULT_CONFIG, MLFLOW_EXPERIMENT, Paths, default_config
from continual_ml.decisions import promotion
from continual_ml.decisions.promotion import ModelStores, champion_alias
from continual_ml.defs.automation import promoted_score
from continual_ml.defs.data.assets import observations
from continual_ml.defs.resources import build_resources
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.defs.training.checks import candidate_beats_champion
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.models.store import read_pointer
from continual_ml.warehouse import registry
from continual_ml_tests.support.in_process_service import (
    in_process_service,
    served,
    wait_for_version,
)
from continual_ml_tests.support.synthetic_days import land_days, landed

RETRAIN = [candidate_model, evaluation_scores, candidate_beats_champion, champion_model]


@pytest.fixture(scope="module")
def two_champions_template(tmp_path_factory):
    """Built once: v1 trained before the drift and v2 after it; v2 champion, v1 retired."""
    root = tmp_path_factory.mktemp("template")
    config = default_config()
    with pytest.MonkeyPatch.context() as patch, dg.instance_for_test() as instance:
        for name in (
            "DAGSTER_HOME",
            "BENTOML_HOME",
            "MLFLOW_TRACKING_URI",
            "CONTINUAL_ML_WAREHOUSE",
        ):
            patch.delenv(name, raising=False)
        patch.setenv("CONTINUAL_ML_HOME", str(root))
        paths = prepare(Paths.from_env())
        resources = build_resources(paths)
        for days, trained_on in (((0, 1, 2), 2), ((8, 9, 10), 10)):
            for index in days:
                assert dg.materialize(
                    [observations],
                    resources=resources,
                    instance=instance,
                    partition_key=str(partition_date(config, index)),
                    run_config=landed(partition_date(config, index), paths.home / "batches"),
                ).success
            assert dg.materialize(
                RETRAIN,
                resources=resources,
                instance=instance,
                partition_key=str(partition_date(config, trained_on)),
            ).success
    return root


@pytest.fixture
def two_champions(home, two_champions_template):
    """A private copy of the template's stores (the Dagster instance stays the test's own)."""
    for item in two_champions_template.iterdir():
        if item.is_dir() and item.name != "dagster_home":
            shutil.copytree(item, home.home / item.name, dirs_exist_ok=True)
        elif item.is_file():
            shutil.copy2(item, home.home / item.name)
    return ModelStores(home.bentoml_home, home.mlflow_tracking_uri, default_config())


def state(home, stores):
    """The champion as each of the three stores sees it."""
    with duckdb.connect(str(home.warehouse)) as conn:
        champion = registry.current_champion(conn)["version"]
        mlflow_versions = dict(
            conn.execute("SELECT mlflow_model_version, version FROM model_registry").fetchall()
        )
    pointer = read_pointer(home.bentoml_home)["version"]
    return champion, mlflow_versions[champion_alias(stores)], pointer


def exports(home):
    return sorted(
        p.name
        for p in (home.bentoml_home / "models" / "continual_ml_champion").iterdir()
        if p.name != "latest"
    )


def test_rollback_restores_the_previous_champion_everywhere_and_the_service_serves_it(
    home, two_champions, tmp_path
):
    assert state(home, two_champions) == (2, 2, 2)
    exported = exports(home)
    with in_process_service(home.bentoml_home, tmp_path / "logs") as service:
        assert served(service)["model_version"] == 2
        with duckdb.connect(str(home.warehouse)) as conn:
            outcome = promotion.rollback(conn, two_champions, None, actor="person:test")
        assert outcome["champion_version"] == 1
        assert state(home, two_champions) == (1, 1, 1)
        assert wait_for_version(service, 1, timeout_seconds=15) < 15
        assert served(service)["promoted_by"] == "person:test"
        with duckdb.connect(str(home.warehouse)) as conn:  # and forth: v2 again, then v1
            promotion.rollback(conn, two_champions, 2, actor="person:test")
            promotion.rollback(conn, two_champions, 1, actor="person:test")
        assert wait_for_version(service, 1, timeout_seconds=15) < 15
    assert exports(home) == exported  # the same copy of each version, served again
    with duckdb.connect(str(home.warehouse)) as conn:
        assert conn.execute(
            "SELECT version, status FROM model_registry ORDER BY version"
        ).fetchall() == [(1, "champion"), (2, "retired")]
        assert conn.execute(
            "SELECT action, actor FROM promotions ORDER BY id DESC LIMIT 1"
        ).fetchone() == ("rolled_back", "person:test")


def test_mlflow_unreachable_changes_nothing_anywhere(home, two_champions, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    before, exported = state(home, two_champions), exports(home)
    unreachable = ModelStores(home.bentoml_home, "http://127.0.0.1:9", default_config())
    with duckdb.connect(str(home.warehouse)) as conn, pytest.raises(Exception):  # noqa: B017
        promotion.rollback(conn, unreachable, None, actor="test")
    assert state(home, two_champions) == before == (2, 2, 2)
    assert exports(home) == exported


def test_a_bentoml_store_write_error_changes_nothing_anywhere(home, two_champions, tmp_path):
    before = state(home, two_champions)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store should be")
    broken = ModelStores(blocker / "bentoml", home.mlflow_tracking_uri, default_config())
    with duckdb.connect(str(home.warehouse)) as conn, pytest.raises(OSError):
        promotion.rollback(conn, broken, None, actor="test")
    assert state(home, two_champions) == before


def test_a_warehouse_failure_after_the_alias_moved_is_undone(home, two_champions, monkeypatch):
    before, exported = state(home, two_champions), exports(home)

    def fail(*args, **kwargs):
        raise RuntimeError("injected: the registry write failed")

    monkeypatch.setattr(registry, "record_promotion", fail)
    with duckdb.connect(str(home.warehouse)) as conn, pytest.raises(RuntimeError, match="inject"):
        promotion.rollback(conn, two_champions, None, actor="test")
    assert state(home, two_champions) == before
    assert exports(home) == exported


def test_a_tampered_artifact_is_never_promoted(home, two_champions):
    with duckdb.connect(str(home.warehouse)) as conn:
        conn.execute("UPDATE model_registry SET artifact = artifact || 'x'::BLOB WHERE version = 1")
        with pytest.raises(ValueError, match="hash"):
            promotion.rollback(conn, two_champions, None, actor="test")
    assert state(home, two_champions) == (2, 2, 2)


def test_approval_promotes_and_rejection_keeps_the_champion(home, two_champions):
    with duckdb.connect(str(home.warehouse)) as conn:
        registry.record_decision(
            conn, 1, "pending_approval", "pending_approval", "gate passed", "test"
        )
        with pytest.raises(ValueError, match="not pending_approval"):
            promotion.approve(conn, two_champions, 2, actor="person:test")
        promotion.reject(conn, 1, actor="person:ann")
        assert registry.load_model_row(conn, 1)["status"] == "rejected"
        assert registry.current_champion(conn)["version"] == 2
        with pytest.raises(ValueError, match="rejected"):
            promotion.rollback(conn, two_champions, 1, actor="test")
        registry.record_decision(conn, 1, "pending_approval", "pending_approval", "again", "test")
        promotion.approve(conn, two_champions, 1, actor="person:bob")
    assert state(home, two_champions) == (1, 1, 1)


def test_the_cli_rolls_back_through_the_dagster_job(home, two_champions, capsys):
    assert main(["rollback", "1"]) == 0
    assert "champion is now v1" in capsys.readouterr().out
    assert state(home, two_champions) == (1, 1, 1)
    client = MlflowClient(home.mlflow_tracking_uri)
    assert int(client.get_model_version_by_alias("continual-ml", "champion").version) == 1
    runs = dg.DagsterInstance.get().get_runs(dg.RunsFilter(job_name="rollback_job"))
    assert len(runs) == 1 and runs[0].is_success
    # the retraining policy now judges v1 against v1's own promoted score, not v2's
    with duckdb.connect(str(home.warehouse)) as conn:
        scores = {v: registry.load_model_row(conn, v)["metrics"]["accuracy"] for v in (1, 2)}
    assert scores[1] != scores[2]
    assert promoted_score(dg.DagsterInstance.get()) == pytest.approx(scores[1])


def test_with_required_approval_a_candidate_waits_until_a_person_approves(
    home, config, instance, tmp_path, monkeypatch, capsys
):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["policy"]["require_approval"] = True
    settings = tmp_path / "approval.yaml"
    settings.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CONTINUAL_ML_CONFIG", str(settings))
    resources = build_resources(home)
    land_days([partition_date(config, i) for i in range(3)], home, resources, instance)
    result = dg.materialize(
        RETRAIN,
        partition_key=str(partition_date(config, 2)),
        resources=resources,
        instance=instance,
    )
    [decision] = result.asset_materializations_for_node("champion_model")
    assert decision.metadata["decision"].value == "pending_approval"
    assert read_pointer(home.bentoml_home) is None  # nothing is served yet
    assert promoted_score(instance) is None  # a waiting candidate is not the champion
    with duckdb.connect(str(home.warehouse)) as conn:
        assert registry.load_model_row(conn, 1)["status"] == "pending_approval"
    assert main(["approve", "1"]) == 0
    assert "v1 approved and promoted" in capsys.readouterr().out
    assert read_pointer(home.bentoml_home)["version"] == 1
    approved = dg.DagsterInstance.get().fetch_materializations(champion_model.key, limit=1)
    assert approved.records[0].asset_materialization.metadata["decision"].value == "approved"
    assert promoted_score(dg.DagsterInstance.get()) is not None
    with duckdb.connect(str(home.warehouse)) as conn:
        assert conn.execute("SELECT action FROM promotions ORDER BY id").fetchall() == [
            ("pending_approval",),
            ("approved",),
        ]


def test_mlflow_names_stay_and_tags_follow_the_champion_back_and_forth(home, two_champions):
    # The path: `rollback`, then `rollback 2` (forward again), through the CLI's job.
    client = MlflowClient(home.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(MLFLOW_EXPERIMENT).experiment_id
    config = default_config()
    names = {
        v: f"v{v} {config.model.family} {partition_date(config, d)}" for v, d in ((1, 2), (2, 10))
    }

    def standing() -> dict:
        runs = client.search_runs([experiment])
        by_version = {v: client.get_model_version("continual-ml", str(v)).tags for v in (1, 2)}
        assert sorted(r.info.run_name for r in runs) == [names[1], names[2]]  # never a decision
        return {r.info.run_name: (r.data.tags["status"], r.data.tags["champion"]) for r in runs} | {
            v: (tags["status"], tags["champion"]) for v, tags in by_version.items()
        }

    assert main(["rollback"]) == 0
    assert standing() == {
        names[1]: ("champion", "true"),
        names[2]: ("retired", "false"),
        1: ("champion", "true"),
        2: ("retired", "false"),
    }
    assert main(["rollback", "2"]) == 0
    assert standing() == {
        names[1]: ("retired", "false"),
        names[2]: ("champion", "true"),
        1: ("retired", "false"),
        2: ("champion", "true"),
    }
    [v1] = client.search_runs([experiment], f"attributes.run_name = '{names[1]}'")
    assert v1.data.tags["status_reason"] == "replaced by v2"
