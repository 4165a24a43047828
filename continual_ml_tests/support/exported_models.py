"""A champion exported and pointed at in one go, for tests and benchmarks with no registry to
keep in step (the pipeline exports with `models.store.export_model`, then points after its
registry commits)."""

from __future__ import annotations

from pathlib import Path

from continual_ml.models.store import export_model, point_at


def export_champion(
    bentoml_home: Path, config, version: int, artifact: bytes, sha256, details=None
):
    """Export a model under a new tag and serve it: the store's pointer names it. The tag."""
    tag = export_model(bentoml_home, config, version, artifact, sha256, details)
    point_at(bentoml_home, tag, version, sha256)
    return tag
