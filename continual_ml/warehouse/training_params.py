"""The training parameters the registered models were recorded with (`model_registry.params`)."""

import json

import duckdb


def recent_params(conn: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict]:
    """The training parameters of the newest registered models, newest first."""
    rows = conn.execute(
        "SELECT params FROM model_registry ORDER BY version DESC LIMIT ?", [limit]
    ).fetchall()
    return [json.loads(params) for (params,) in rows]


def training_record(conn: duckdb.DuckDBPyConnection, version: int) -> dict:
    """What a model was trained on: its first and last day, its rows, its window's name, and the
    newest day of its labelled rows (None for a model recorded without it)."""
    rows = conn.execute(
        "SELECT training_start, training_end, n_train, params FROM model_registry "
        "WHERE version = ?",
        [version],
    ).fetchall()
    if not rows:
        raise LookupError(f"model version {version} is not in the registry")
    start, end, n_train, params = rows[0]
    recorded = json.loads(params) if params else {}
    return {
        "start": start,
        "end": end,
        "rows": n_train,
        "window": recorded.get("training_window", ""),
        "labelled_through": recorded.get("labelled_through"),
    }
