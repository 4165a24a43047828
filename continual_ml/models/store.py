"""The BentoML model store the service follows: exported models and the champion pointer.

Exporting a model makes it available but not served. The service serves the model named by
`champion.json` in the store's folder, which a promotion replaces atomically as its last step,
so a promotion that fails half way never changes what is served.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from continual_ml.config import DatasetConfig
from continual_ml.models.bentoml_internals import create_model, model_store
from continual_ml.models.metric_values import dumps, safe_report

SERVED_MODEL_NAME = "continual_ml_champion"
ARTIFACT_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"
POINTER_FILE = "champion.json"


def export_model(
    bentoml_home: Path,
    config: DatasetConfig,
    version: int,
    artifact: bytes,
    sha256: str,
    details: dict | None = None,
) -> str:
    """Write a model into the store under a new tag and return the tag; nothing serves it yet."""
    manifest = {
        "version": version,
        "sha256": sha256,
        "dataset": config.name,
        "features": [f.model_dump(mode="json") for f in config.features],
        "classes": list(config.classes),
        "task": config.task,  # classification or regression: what the service must answer
        **(details or {}),
    }
    if isinstance(manifest.get("metrics"), dict):  # a null metric says why it is null
        manifest["metrics"] = safe_report(manifest["metrics"])
    # Unique per export, so exporting the same version twice never collides.
    tag = f"{SERVED_MODEL_NAME}:v{version}-{time.time_ns() // 1_000_000}"
    with create_model(
        bentoml_home,
        tag,
        labels={"model_version": str(version)},
        metadata={"model_version": version, "sha256": sha256},
    ) as model_ref:
        Path(model_ref.path, ARTIFACT_FILE).write_bytes(artifact)
        Path(model_ref.path, MANIFEST_FILE).write_text(dumps(manifest, indent=2))
    return str(model_ref.tag)


def export_or_reuse(
    bentoml_home: Path,
    config: DatasetConfig,
    version: int,
    artifact: bytes,
    sha256: str,
    details: dict | None = None,
) -> tuple[str, bool]:
    """The tag of this version's export, and whether it is new.

    A rollback promotes a version exported before: its export is reused as it is (who promoted
    it this time goes in the pointer), so the store keeps one copy per version however often it
    is served again.
    """
    from bentoml.exceptions import NotFound

    try:
        exported = model_store(bentoml_home).list(SERVED_MODEL_NAME)
    except NotFound:  # nothing exported yet
        exported = []
    for model in exported:
        metadata = model.info.metadata
        if metadata.get("model_version") == version and metadata.get("sha256") == sha256:
            return str(model.tag), False
    return export_model(bentoml_home, config, version, artifact, sha256, details), True


def delete_export(bentoml_home: Path, tag: str) -> None:
    model_store(bentoml_home).delete(tag)


def model_dir(bentoml_home: Path, tag: str) -> Path:
    return Path(model_store(bentoml_home).get(tag).path)


def read_pointer(bentoml_home: Path) -> dict | None:
    path = Path(bentoml_home) / POINTER_FILE
    return json.loads(path.read_text()) if path.exists() else None


def write_pointer(bentoml_home: Path, pointer: dict | None) -> None:
    """Replace the champion pointer in one rename (or remove it, to restore 'no champion')."""
    path = Path(bentoml_home) / POINTER_FILE
    if pointer is None:
        path.unlink(missing_ok=True)
        return
    # Its own staging file per writer: two processes replacing the pointer at once never move
    # each other's half-written file.
    staged = path.with_suffix(f".json.{os.getpid()}-{threading.get_ident()}.staged")
    staged.write_text(json.dumps(pointer))
    os.replace(staged, path)


def point_at(
    bentoml_home: Path, tag: str, version: int, sha256: str, promoted_by: str | None = None
) -> dict:
    pointer = {
        "tag": tag,
        "version": version,
        "sha256": sha256,
        "promoted_at": datetime.now(UTC).isoformat(),
        **({"promoted_by": promoted_by} if promoted_by else {}),
    }
    write_pointer(bentoml_home, pointer)
    return pointer
