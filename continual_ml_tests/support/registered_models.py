"""A model in the real registry, as training registers one, for the gate's unit tests."""

import hashlib
from datetime import date

from continual_ml.warehouse import registry


def registered(conn, day: int, artifact: bytes | None = None, status: str = "candidate") -> dict:
    """The registry row of a model registered for 2026-01-`day` (its bytes: `artifact`)."""
    artifact = artifact if artifact is not None else f"model-{day}-{status}".encode()
    version = registry.register_model(
        conn,
        partition_date=date(2026, 1, day),
        sha256=hashlib.sha256(artifact).hexdigest(),
        artifact=artifact,
        family="logistic_regression",
        params="{}",
        features='[["x0", "numeric"]]',
        training_start=date(2026, 1, day),
        training_end=date(2026, 1, day),
        n_train=1,
        data_sha256="-",
        status=status,
    )
    return registry.load_model_row(conn, version)
