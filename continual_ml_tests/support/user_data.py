"""Datasets shaped like a user's, not the demo's: every feature kind, nulls, many categories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig

CATEGORIES = tuple(f"c{i:02d}" for i in range(12))
MANY = tuple(f"m{i:03d}" for i in range(300))  # beyond what native categorical splits take
N_CATEGORICAL = 15


def mixed_config(family: str = "logistic_regression", many_categories: bool = False, **model):
    """A config with numeric, nullable numeric, nullable boolean and 15 categorical features."""
    features = [
        {"name": "amount", "kind": "numeric"},
        {"name": "income", "kind": "numeric", "nullable": True},
        {"name": "flag", "kind": "boolean", "nullable": True},
        *(
            {"name": f"cat{j}", "kind": "categorical", "categories": list(CATEGORIES)}
            for j in range(N_CATEGORICAL)
        ),
    ]
    if many_categories:
        features.append({"name": "city", "kind": "categorical", "categories": list(MANY)})
    return DatasetConfig.model_validate(
        {
            "name": "mixed",
            "label": "approved",
            "id_column": "loan_id",
            "event_time_column": "applied_at",
            "features": features,
            "model": {"family": family, **model},
        }
    )


def mixed_rows(start: str, days: int, per_day: int = 150, seed: int = 0) -> pd.DataFrame:
    """Rows whose label depends on a number, the boolean and one category; some values missing."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    times = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)), "s")
    rows = pd.DataFrame(
        {
            "loan_id": [f"{start}-{seed}-{i}" for i in range(n)],
            "applied_at": times,
            "amount": rng.normal(size=n),
            "income": rng.normal(size=n),
            "flag": pd.array(rng.random(n) < 0.4, dtype="boolean"),
            **{f"cat{j}": rng.choice(CATEGORIES, n) for j in range(N_CATEGORICAL)},
            "city": rng.choice(MANY, n),
        }
    )
    score = rows["amount"] + 1.5 * rows["flag"].astype(int) + (rows["cat0"] < "c06") * 1.0
    rows["approved"] = (score + rng.normal(scale=0.3, size=n) > 1.0).astype(int)
    rows.loc[rows.index % 11 == 0, "income"] = np.nan
    rows.loc[rows.index % 13 == 0, "flag"] = pd.NA
    return rows


def use_config(settings: DatasetConfig, path, monkeypatch) -> DatasetConfig:
    """Write `settings` as the YAML file at `path` and point `CONTINUAL_ML_CONFIG` at it."""
    import yaml

    path.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    monkeypatch.setenv("CONTINUAL_ML_CONFIG", str(path))
    return settings
