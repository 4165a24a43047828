"""What a materialization recorded, and what the warehouse holds after it."""

import duckdb


def metadata(result, asset) -> dict:
    """The metadata of `asset`'s one materialization in `result`, as plain values."""
    [event] = result.asset_materializations_for_node(asset.op.name)
    return {k: v.value for k, v in event.metadata.items()}


def query(home, sql, params=()) -> list[tuple]:
    """Rows of a read-only query on the home's warehouse."""
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()
