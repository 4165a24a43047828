"""Which pool a warehouse step claims, by warehouse backend."""


def test_promotion_shares_the_files_pool_and_has_its_own_on_ducklake(monkeypatch):
    from continual_ml.defs.partitions import PROMOTION_POOL, WAREHOUSE_POOL, promotion_pool
    from continual_ml.defs.training.assets import champion_model

    # The DuckDB file has one writer: promotion waits for per-day steps and they for it.
    monkeypatch.delenv("CONTINUAL_ML_WAREHOUSE_BACKEND", raising=False)
    assert promotion_pool() == WAREHOUSE_POOL == champion_model.op.pool
    # DuckLake takes many writers: per-day steps go N wide, champion changes stay one at a time.
    monkeypatch.setenv("CONTINUAL_ML_WAREHOUSE_BACKEND", "ducklake")
    assert promotion_pool() == PROMOTION_POOL != WAREHOUSE_POOL
