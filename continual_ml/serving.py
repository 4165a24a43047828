"""What the BentoML service needs, free of Dagster and DuckDB: the request schema generated from
the dataset configuration, and a follower that hot-swaps to the newest champion in the store."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, create_model

from continual_ml.config import DatasetConfig
from continual_ml.fast_scoring import linear_scorer
from continual_ml.model_store import ARTIFACT_FILE, MANIFEST_FILE, model_dir, read_pointer
from continual_ml.training import load_model

log = logging.getLogger("continual_ml.serving")


class Prediction(BaseModel):
    """One answer of the service: which model said what, under which id."""

    prediction_id: str
    model_version: int
    predicted_class: int
    probabilities: dict[str, float]


class BatchResponse(BaseModel):
    model_version: int
    predictions: list[Prediction]


def row_schema(config: DatasetConfig, unknown_category: str = "reject") -> type[BaseModel]:
    """A pydantic model of one input row: every feature required, typed, finite, nothing extra.

    With `unknown_category="map"`, a category outside the configured ones is accepted and the
    pipeline's encoder treats it as unknown (all-zero one-hot); with "reject" it is a 400.
    """
    fields: dict[str, Any] = {}
    for feature in config.features:
        if feature.kind == "numeric":
            fields[feature.name] = (float, Field(allow_inf_nan=False))
        elif feature.kind == "boolean":
            fields[feature.name] = (bool, Field())
        elif unknown_category == "map":
            fields[feature.name] = (str, Field(description=f"one of {list(feature.categories)}"))
        else:
            fields[feature.name] = (Literal[feature.categories], Field())
    return create_model(
        "FeatureRow",
        __config__=ConfigDict(extra="forbid", strict=False),
        **fields,
    )


@dataclass(frozen=True)
class ServedModel:
    version: int
    sha256: str
    tag: str
    pipeline: Any
    loaded_at: str
    manifest: dict
    fast: Any = None  # a verified LinearScorer, when the pipeline allows one

    @cached_property
    def classes(self) -> list[int]:
        return [int(c) for c in self.pipeline.classes_]

    @cached_property
    def class_keys(self) -> list[str]:
        """The classes as JSON object keys, in the pipeline's order."""
        return [str(c) for c in self.classes]

    def describe(self) -> dict:
        """What `GET /model` reports: the manifest the promotion wrote, minus the schema."""
        keep = {k: v for k, v in self.manifest.items() if k not in ("features",)}
        return {**keep, "model_version": self.version, "tag": self.tag, "loaded_at": self.loaded_at}


@dataclass
class ChampionFollower:
    """Keeps the champion named in the BentoML store loaded, swapping only to a verified model.

    A candidate model is loaded off the request path, its hash checked against the one the
    promotion recorded and a smoke prediction made; only then does one reference assignment
    swap it in, so in-flight requests finish on the model they started with.
    """

    store_dir: Path
    config: DatasetConfig
    poll_seconds: float = 1.0
    current: ServedModel | None = None
    last_error: str | None = None
    swaps: int = 0
    on_swap: Any = None
    on_failure: Any = None
    _failed_tag: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def champion_pointer(self) -> dict | None:
        return read_pointer(self.store_dir)

    def refresh(self) -> bool:
        """Swap to the champion the pointer names if it is new and loads; return whether it did."""
        pointer = self.champion_pointer()
        tag = pointer["tag"] if pointer else None
        if tag is None or (self.current and self.current.tag == tag) or tag == self._failed_tag:
            return False
        try:
            candidate = self._load(pointer)
        except Exception as error:  # keep serving the old model, and say why
            self._failed_tag = tag
            self.last_error = f"{tag}: {type(error).__name__}: {error}"
            log.error("not swapping to %s: %s", tag, self.last_error)
            if self.on_failure:
                self.on_failure(tag, self.last_error)
            return False
        previous = self.current.version if self.current else None
        self.current = candidate
        self.swaps += 1
        self.last_error = None
        log.info("now serving model v%s (was v%s)", candidate.version, previous)
        if self.on_swap:
            self.on_swap(candidate)
        return True

    def _load(self, pointer: dict) -> ServedModel:
        tag = pointer["tag"]
        folder = model_dir(self.store_dir, tag)
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        # The hash the promotion recorded, not the one stored beside the bytes, is the reference.
        pipeline = load_model((folder / ARTIFACT_FILE).read_bytes(), pointer["sha256"])
        smoke = pipeline.predict_proba(pd.DataFrame([smoke_row(self.config)]))
        if smoke.shape != (1, len(self.config.classes)):
            raise ValueError(f"smoke prediction has shape {smoke.shape}")
        manifest["promoted_at"] = pointer.get("promoted_at")
        fast = linear_scorer(pipeline, self.config, probe_rows(self.config))
        return ServedModel(
            version=int(pointer["version"]),
            sha256=pointer["sha256"],
            tag=tag,
            pipeline=pipeline,
            loaded_at=datetime.now(UTC).isoformat(),
            manifest=manifest,
            fast=fast,
        )

    def follow(self, also_each_poll=None) -> threading.Thread:
        """Poll the store in a daemon thread until `stop()`, running `also_each_poll` too."""

        def loop() -> None:
            while not self._stop.wait(self.poll_seconds):
                try:
                    self.refresh()
                    if also_each_poll:
                        also_each_poll()
                except Exception:
                    log.exception("model store poll failed")

        thread = threading.Thread(target=loop, name="champion-follower", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def smoke_row(config: DatasetConfig) -> dict[str, Any]:
    return {f.name: (0.0 if f.kind == "numeric" else f.categories[0]) for f in config.features}


def probe_rows(config: DatasetConfig, n: int = 64) -> pd.DataFrame:
    """Seeded rows across the feature space, to check a fast scorer against its pipeline."""
    rng = np.random.default_rng(0)
    columns = {}
    for feature in config.features:
        if feature.kind == "categorical":
            columns[feature.name] = [
                feature.categories[i % len(feature.categories)] for i in range(n)
            ]
        elif feature.kind == "boolean":
            columns[feature.name] = rng.random(n) < 0.5
        else:
            columns[feature.name] = rng.normal(0, 3, n)
    return pd.DataFrame(columns)


def predict_rows(model: ServedModel, config: DatasetConfig, rows: list[dict]) -> list[dict]:
    """Each row's probabilities by class, its predicted class and the scoring time, in order."""
    started = time.perf_counter()
    if model.fast is not None and len(rows) == 1:
        positive = model.fast.positive_proba_one(rows[0])
        proba = [[1.0 - positive, positive]]
    elif model.fast is not None:
        positive = model.fast.positive_proba(rows)
        proba = np.column_stack([1.0 - positive, positive]).tolist()
    else:
        frame = pd.DataFrame(rows, columns=config.feature_names)
        proba = model.pipeline.predict_proba(frame).tolist()
    latency_ms = (time.perf_counter() - started) * 1000
    classes, keys = model.classes, model.class_keys
    return [
        {
            "probabilities": dict(zip(keys, row, strict=True)),
            # the first of equally likely classes, as numpy's argmax picks
            "predicted_class": classes[row.index(max(row))],
            "latency_ms": latency_ms,
        }
        for row in proba
    ]
