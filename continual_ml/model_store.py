"""Exporting a promoted model to the BentoML model store, which the service follows."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from continual_ml.config import DatasetConfig

SERVED_MODEL_NAME = "continual_ml_champion"
ARTIFACT_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"


def export_champion(
    bentoml_home: Path,
    config: DatasetConfig,
    version: int,
    artifact: bytes,
    sha256: str,
    details: dict | None = None,
) -> str:
    """Write the champion into the store as a new tag; the newest tag is the one served."""
    import bentoml  # heavy import, only where a model is exported
    from bentoml._internal.models import ModelStore

    # An explicit store, not the process-wide default, so tests and the demo can each point at
    # their own BENTOML_HOME after bentoml has been imported.
    store = ModelStore(Path(bentoml_home) / "models")
    manifest = {
        "version": version,
        "sha256": sha256,
        "dataset": config.name,
        "features": [f.model_dump(mode="json") for f in config.features],
        "classes": list(config.classes),
        "promoted_at": datetime.now(UTC).isoformat(),
        **(details or {}),
    }
    # Unique per export: a rollback exports an older version again as the newest entry.
    tag = f"{SERVED_MODEL_NAME}:v{version}-{time.time_ns() // 1_000_000}"
    with bentoml.models.create(
        tag,
        labels={"model_version": str(version)},
        metadata={"model_version": version, "sha256": sha256},
        _model_store=store,
    ) as model_ref:
        Path(model_ref.path, ARTIFACT_FILE).write_bytes(artifact)
        Path(model_ref.path, MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return str(model_ref.tag)
