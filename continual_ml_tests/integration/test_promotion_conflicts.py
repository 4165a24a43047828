"""A champion change that keeps losing its write-write conflicts leaves the warehouse, the MLflow
`champion` alias and the BentoML pointer agreeing on the champion the warehouse kept.

Real parts: the warehouse (a DuckDB file, or DuckLake with its catalog in a real Postgres), an
MLflow registry with real model versions, a BentoML store. The conflicts are real too: another
connection claims the registry the way a registration does. What is set is how often a lost
conflict is tried again (`CONFLICT_ATTEMPTS`), so that the last attempt comes quickly.
"""

from __future__ import annotations

import threading

import dagster as dg
import duckdb
import pytest

from continual_ml.decisions import promotion
from continual_ml.defs.training import conflicts
from continual_ml.defs.training.conflicts import retried_when_the_registry_is_busy
from continual_ml.warehouse import registry, sql
from continual_ml.warehouse.connection import warehouse_connection, warehouse_location
from continual_ml.warehouse.registry_lock import lock_registry
from continual_ml.warehouse.sql import is_conflict, rollback_quietly
from continual_ml_tests.support.lake_servers import lake_environment, running_catalog_server
from continual_ml_tests.support.model_registry import champions, three_models

ROUNDS = 20  # promotions tried against a busy registry until two have lost (one is enough)


@pytest.fixture
def lake(home, monkeypatch, tmp_path):
    """The home's settings select a new DuckLake: its catalog in Postgres, its data in a folder."""
    with running_catalog_server(tmp_path / "postgres.log") as catalog:
        for name, value in lake_environment(catalog, tmp_path / "lake").items():
            monkeypatch.setenv(name, value)
        yield


def test_a_promotion_that_loses_to_an_open_transaction_changes_nothing_anywhere(
    home, config, tmp_path, monkeypatch
):
    """DuckDB file: another connection holds the registry in an open transaction, so every
    attempt conflicts at its first write; the last conflict is raised, and all three stores
    still name v1."""
    stores = three_models(home, config, tmp_path)
    monkeypatch.setattr(sql, "CONFLICT_ATTEMPTS", 2)
    location = warehouse_location(home)
    with warehouse_connection(location) as conn, warehouse_connection(location) as holder:
        holder.execute("BEGIN TRANSACTION")
        lock_registry(holder)
        with pytest.raises(duckdb.TransactionException) as lost:
            promotion.promote(conn, stores, 2, action="promoted", reason="test", actor="test")
        assert is_conflict(lost.value)
        holder.execute("ROLLBACK")
        assert champions(conn, stores) == (1, 1, 1)
        # The registry free again, the same promotion goes through everywhere.
        promotion.promote(conn, stores, 2, action="promoted", reason="test", actor="test")
        assert champions(conn, stores) == (2, 2, 2)


def test_a_step_whose_promotion_keeps_losing_runs_again_then_fails_visibly(
    home, config, tmp_path, monkeypatch
):
    """In a Dagster step, the last lost conflict asks for a retry; the registry held throughout,
    every retry loses too and the step fails, with the stores still agreeing."""
    stores = three_models(home, config, tmp_path)
    monkeypatch.setattr(sql, "CONFLICT_ATTEMPTS", 1)
    monkeypatch.setattr(conflicts, "STEP_RETRY_SECONDS", 0)
    location, attempts = warehouse_location(home), []

    @dg.op
    def promote_v2(context) -> None:
        attempts.append(context.retry_number)
        with warehouse_connection(location) as conn, retried_when_the_registry_is_busy():
            promotion.promote(conn, stores, 2, action="promoted", reason="test", actor="test")

    @dg.job(executor_def=dg.in_process_executor)
    def promotion_job() -> None:
        promote_v2()

    with warehouse_connection(location) as holder:
        holder.execute("BEGIN TRANSACTION")
        lock_registry(holder)
        result = promotion_job.execute_in_process(raise_on_error=False)
        holder.execute("ROLLBACK")
        assert not result.success
        assert attempts == list(range(conflicts.STEP_RETRIES + 1))
        [failure] = [
            e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        assert "Conflict" in str(failure.step_failure_data.error)
        assert champions(holder, stores) == (1, 1, 1)


@pytest.mark.integration
def test_on_ducklake_promotions_that_lose_leave_the_three_stores_agreeing(
    home, lake, config, tmp_path, monkeypatch
):
    """DuckLake: another connection claims the registry, committing as fast as it can, while v2
    and v3 are promoted in turn with no retry. A promotion whose commit comes after a claim that
    began later loses (DuckLake's conflicts happen at commit); whether it loses or wins, the
    warehouse, the alias and the pointer name the same champion afterwards."""
    stores = three_models(home, config, tmp_path)
    monkeypatch.setattr(sql, "CONFLICT_ATTEMPTS", 1)
    location = warehouse_location(home)
    stop, claims = threading.Event(), []

    def claim_the_registry() -> None:
        with warehouse_connection(location) as other:
            while not stop.is_set():
                try:
                    other.execute("BEGIN TRANSACTION")
                    lock_registry(other)
                    other.execute("COMMIT")
                    claims.append(True)
                except duckdb.TransactionException:
                    rollback_quietly(other)

    claimer = threading.Thread(target=claim_the_registry, daemon=True)
    lost, won = 0, 0
    with warehouse_connection(location) as conn:
        claimer.start()
        try:
            for round_ in range(ROUNDS):
                target = 3 if registry.current_champion(conn)["version"] == 2 else 2
                try:
                    promotion.promote(
                        conn, stores, target, action="promoted", reason="test", actor="test"
                    )
                    won += 1
                except duckdb.TransactionException as error:
                    assert is_conflict(error), error
                    lost += 1
                champion = champions(conn, stores)
                assert len(set(champion)) == 1, f"round {round_}: stores disagree {champion}"
                if lost >= 2:
                    break
        finally:
            stop.set()
            claimer.join(timeout=30)
        assert not claimer.is_alive()
        assert claims, "the other connection never claimed the registry"
        assert lost >= 1, f"no promotion lost in {ROUNDS} rounds ({len(claims)} claims)"
        assert registry.current_champion(conn)["version"] in (1, 2, 3)
        promotions = conn.execute("SELECT count(*) FROM promotions").fetchone()[0]
        assert promotions == 1 + won  # v1's first promotion, then one per promotion that won
