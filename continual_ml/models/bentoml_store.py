"""BentoML's model store at a given folder: the one BentoML internal the model store needs.

`bentoml.models` works on the process-wide store fixed by `BENTOML_HOME` when bentoml is first
imported, but promotion, tests and the demo each write to their own home in one process.
`test_bentoml_internals.py` checks that it still behaves as relied on.
"""

from __future__ import annotations

from pathlib import Path


def model_store(bentoml_home: Path):
    """BentoML's model store under `bentoml_home` (its `models` folder)."""
    from bentoml._internal.models import ModelStore  # heavy import, only where it is used

    return ModelStore(Path(bentoml_home) / "models")


def create_model(bentoml_home: Path, tag: str, labels: dict, metadata: dict):
    """`bentoml.models.create` into the store under `bentoml_home` rather than the default one."""
    import bentoml

    return bentoml.models.create(
        tag, labels=labels, metadata=metadata, _model_store=model_store(bentoml_home)
    )
