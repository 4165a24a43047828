"""Reference profiles kept in DuckDB, so a champion's drift reference is built once, not per
batch."""

from __future__ import annotations

import json
import math

import duckdb
import numpy as np

from continual_ml.monitoring.drift_engine import (
    CategoricalReference,
    FeatureReference,
    NumericReference,
    ReferenceProfile,
)
from continual_ml.warehouse.claims import keyed_write
from continual_ml.warehouse.sql import retried_on_conflict


@retried_on_conflict
def save_profile(
    conn: duckdb.DuckDBPyConnection, profile_id: str, profile: ReferenceProfile
) -> None:
    """Store the profile under `profile_id`, replacing any profile stored under it before."""
    rows = []
    for position, feature in enumerate(profile.features):
        if isinstance(feature, NumericReference):
            std = None if math.isnan(feature.std) else feature.std
            summary = {"n_missing": feature.n_missing, "std": std}
            blob = feature.sorted_values.astype("<f8").tobytes()
            rows.append([profile_id, position, feature.name, "numeric", json.dumps(summary), blob])
        else:
            summary = {"n_missing": feature.n_missing, "counts": feature.counts}
            rows.append(
                [profile_id, position, feature.name, "categorical", json.dumps(summary), None]
            )
    with keyed_write(conn, "reference_profiles"):
        conn.execute("DELETE FROM reference_profiles WHERE profile_id = ?", [profile_id])
        conn.executemany(
            "INSERT INTO reference_profiles (profile_id, position, feature, kind, summary, "
            "sorted_values, created_at) VALUES (?, ?, ?, ?, ?, ?, current_localtimestamp())",
            rows,
        )


def load_profile(conn: duckdb.DuckDBPyConnection, profile_id: str) -> ReferenceProfile:
    """The profile stored under `profile_id`; KeyError if there is none."""
    try:
        rows = conn.execute(
            "SELECT feature, kind, summary, sorted_values FROM reference_profiles"
            " WHERE profile_id = ? ORDER BY position",
            [profile_id],
        ).fetchall()
    except duckdb.CatalogException:  # no profile was ever saved in this database
        rows = []
    if not rows:
        raise KeyError(f"no reference profile {profile_id!r}")
    features: list[FeatureReference] = []
    for name, kind, summary_json, blob in rows:
        summary = json.loads(summary_json)
        if kind == "numeric":
            values = np.frombuffer(blob, dtype="<f8")
            std = math.nan if summary["std"] is None else summary["std"]
            features.append(NumericReference(name, values, summary["n_missing"], std))
        else:
            features.append(CategoricalReference(name, summary["counts"], summary["n_missing"]))
    return ReferenceProfile(features=tuple(features))
