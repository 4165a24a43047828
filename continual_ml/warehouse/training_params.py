"""The training parameters the registered models were recorded with (`model_registry.params`)."""

import json

import duckdb


def recent_params(conn: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict]:
    """The training parameters of the newest registered models, newest first."""
    rows = conn.execute(
        "SELECT params FROM model_registry ORDER BY version DESC LIMIT ?", [limit]
    ).fetchall()
    return [json.loads(params) for (params,) in rows]
