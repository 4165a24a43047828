"""Checks on one landed partition of `observations`, in SQL: what must hold before training."""

from __future__ import annotations

import json
from datetime import date

import duckdb

from continual_ml.config import DatasetConfig
from continual_ml.warehouse.claims import keyed_write
from continual_ml.warehouse.sql import retried_on_conflict

ROW_COUNT_RATIO = (0.5, 2.0)  # against the median of the last 7 partitions


def _count(conn, sql: str, params: list) -> int:
    return conn.execute(sql, params).fetchone()[0]


def check_partition(conn: duckdb.DuckDBPyConnection, config: DatasetConfig, day: date) -> dict:
    """Failures by rule (rule -> offending row count or message) for one partition."""
    where = "FROM observations WHERE partition_date = ?"
    failures: dict[str, object] = {}
    columns = {r[0] for r in conn.execute("DESCRIBE observations").fetchall()}
    missing = [
        c for c in ("row_id", "event_time", config.label, *config.feature_names) if c not in columns
    ]
    if missing:
        return {"schema": f"missing columns {missing}"}
    n_rows = _count(conn, f"SELECT count(*) {where}", [day])
    for feature in config.features:
        column = f'"{feature.name}"'
        if not feature.nullable:
            nulls = _count(conn, f"SELECT count(*) {where} AND {column} IS NULL", [day])
            if nulls:
                failures[f"{feature.name}:nulls"] = nulls
        if feature.kind == "numeric":
            bounds = []
            if feature.min is not None:
                bounds.append(f"{column} < {feature.min}")
            if feature.max is not None:
                bounds.append(f"{column} > {feature.max}")
            bounds.append(f"isinf({column}) OR isnan({column})")
            bad = _count(conn, f"SELECT count(*) {where} AND ({' OR '.join(bounds)})", [day])
            if bad:
                failures[f"{feature.name}:range"] = bad
        if feature.kind == "categorical":
            unknown = _count(
                conn,
                f"SELECT count(*) {where} AND {column} IS NOT NULL "
                f"AND {column} NOT IN ({', '.join('?' * len(feature.categories))})",
                [day, *feature.categories],
            )
            if unknown:
                failures[f"{feature.name}:unknown_category"] = unknown
    label = f'"{config.label}"'
    if config.regression:  # a number's domain: finite
        finite = f"{label} IS NOT NULL AND NOT isfinite({label})"
        outside = _count(conn, f"SELECT count(*) {where} AND {finite}", [day])
    else:
        outside = _count(
            conn,
            f"SELECT count(*) {where} AND {label} IS NOT NULL AND {label} NOT IN "
            f"({', '.join('?' * len(config.classes))})",
            [day, *config.classes],
        )
    if outside:
        failures["label:domain"] = outside
    duplicates = _count(
        conn,
        "SELECT count(*) FROM (SELECT row_id FROM observations WHERE row_id IN "
        f"(SELECT row_id {where}) GROUP BY row_id HAVING count(*) > 1)",
        [day],
    )
    if duplicates:
        failures["row_id:duplicates"] = duplicates
    recent = conn.execute(
        "SELECT median(n) FROM (SELECT count(*) AS n FROM observations WHERE partition_date < ? "
        "GROUP BY partition_date ORDER BY partition_date DESC LIMIT 7)",
        [day],
    ).fetchone()[0]
    if recent and not ROW_COUNT_RATIO[0] <= n_rows / recent <= ROW_COUNT_RATIO[1]:
        failures["row_count:anomaly"] = f"{n_rows} rows against a recent median of {recent:.0f}"
    if n_rows == 0:
        failures["row_count:empty"] = "no rows"
    return failures


@retried_on_conflict
def record_verdict(conn, day: date, failures: dict) -> None:
    with keyed_write(conn, "partition_validation"):
        n_rows = _count(conn, "SELECT count(*) FROM observations WHERE partition_date = ?", [day])
        conn.execute("DELETE FROM partition_validation WHERE partition_date = ?", [day])
        conn.execute(
            "INSERT INTO partition_validation VALUES (?, ?, ?, ?, current_localtimestamp())",
            [day, not failures, json.dumps(failures), n_rows],
        )


def failed_partitions(conn, start: date, end: date) -> list[date]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT partition_date FROM partition_validation WHERE NOT passed "
            "AND partition_date BETWEEN ? AND ? ORDER BY 1",
            [start, end],
        ).fetchall()
    ]
