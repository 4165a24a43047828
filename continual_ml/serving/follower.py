"""What the BentoML service needs, free of Dagster and DuckDB: a follower that hot-swaps to the
newest champion in the store, and scoring that always answers with finite probabilities."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.models.metric_values import json_safe, safe_report
from continual_ml.models.store import ARTIFACT_FILE, MANIFEST_FILE, model_dir, read_pointer
from continual_ml.serving.linear_scorer import linear_scorer
from continual_ml.serving.numeric_scoring import (
    numeric_smoke,
    predicted_numbers,
    served_calibration,
)
from continual_ml.serving.unscorable_rows import UnscorableRows
from continual_ml.training.class_probabilities import class_proba
from continual_ml.training.pipeline import load_model

log = logging.getLogger("continual_ml.serving.follower")


@dataclass(frozen=True)
class ServedModel:
    version: int
    sha256: str
    tag: str
    pipeline: Any
    loaded_at: str
    manifest: dict
    fast: Any = None  # a verified LinearScorer, when the pipeline allows one
    # A multiclass model's classes, in the config's order (its probabilities' order); None for
    # a binary model, whose classes are the pipeline's own.
    config_classes: tuple | None = None
    regression: bool = False  # answers a number: no classes, no probabilities
    calibration: Any = None  # a regression champion's ConformalCalibration, for its intervals

    @cached_property
    def classes(self) -> list:
        if self.config_classes is not None:
            return list(self.config_classes)
        return [int(c) for c in self.pipeline.classes_]

    @cached_property
    def class_keys(self) -> list[str]:
        """The classes as JSON object keys, in the pipeline's order."""
        return [str(c) for c in self.classes]

    def describe(self) -> dict:
        """What `GET /model` reports: the manifest the promotion wrote, minus the schema.

        JSON-safe whatever the manifest holds: a manifest written before metrics were made safe
        may hold NaN, which becomes null with the reason in ``metrics.undefined``.
        """
        keep = {k: v for k, v in self.manifest.items() if k not in ("features",)}
        if isinstance(keep.get("metrics"), dict):
            keep["metrics"] = safe_report(keep["metrics"])
        described = {**keep, "model_version": self.version, "tag": self.tag}
        return json_safe({**described, "loaded_at": self.loaded_at})


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
        try:
            pointer = self.champion_pointer()
            tag = pointer["tag"] if pointer else None
        except (OSError, ValueError, TypeError, KeyError) as error:
            # A pointer being rewritten by hand or cut short: keep serving, and say so.
            self._fail("champion.json", f"unreadable: {type(error).__name__}: {error}")
            return False
        self._pointer_fixed()
        if tag is None or (self.current and self.current.tag == tag) or tag == self._failed_tag:
            return False
        try:
            candidate = self._load(pointer)
        except Exception as error:  # keep serving the old model, and say why
            self._fail(tag, f"{type(error).__name__}: {error}")
            return False
        previous = self.current.version if self.current else None
        self.current = candidate
        self.swaps += 1
        self.last_error = None
        self._failed_tag = None
        log.info("now serving model v%s (was v%s)", candidate.version, previous)
        if self.on_swap:
            self.on_swap(candidate)
        return True

    def _fail(self, tag: str, reason: str) -> None:
        """Record a failed swap once per distinct cause, in `/model` and through `on_failure`."""
        error = f"{tag}: {reason}"
        if tag == self._failed_tag and error == self.last_error:
            return  # the same broken pointer or model, seen again on the next poll
        self._failed_tag, self.last_error = tag, error
        log.error("not swapping to %s", error)
        if self.on_failure:
            self.on_failure(tag, error)

    def _pointer_fixed(self) -> None:
        """The pointer is readable (again): an error that was only about it is over."""
        if self._failed_tag == "champion.json":
            self._failed_tag, self.last_error = None, None

    def _load(self, pointer: dict) -> ServedModel:
        tag = pointer["tag"]
        folder = model_dir(self.store_dir, tag)
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        if manifest.get("task", "classification") != self.config.task:  # a number for classes
            raise ValueError(f"a {manifest.get('task')} model for a {self.config.task} dataset")
        # The hash the promotion recorded, not the one stored beside the bytes, is the reference.
        pipeline = load_model((folder / ARTIFACT_FILE).read_bytes(), pointer["sha256"])
        smoke_rows = pd.DataFrame([smoke_row(self.config)])
        if self.config.regression:
            numeric_smoke(pipeline, smoke_rows)
        else:
            if self.config.binary:
                smoke = pipeline.predict_proba(smoke_rows)
            else:
                smoke = class_proba(pipeline, self.config, smoke_rows)
            if smoke.shape != (1, len(self.config.classes)):
                raise ValueError(f"smoke prediction has shape {smoke.shape}")
        # This promotion's, not the one the export was first made for (a rollback reuses it).
        manifest["promoted_at"] = pointer.get("promoted_at")
        manifest["promoted_by"] = pointer.get("promoted_by", manifest.get("promoted_by"))
        fast = linear_scorer(pipeline, self.config, probe_rows(self.config))
        return ServedModel(
            version=int(pointer["version"]),
            sha256=pointer["sha256"],
            tag=tag,
            pipeline=pipeline,
            loaded_at=datetime.now(UTC).isoformat(),
            manifest=manifest,
            fast=fast,
            config_classes=None if self.config.binary else self.config.classes,
            regression=self.config.regression,
            calibration=served_calibration(manifest) if self.config.regression else None,
        )

    def follow(self, also_each_poll=None) -> threading.Thread:
        """Poll the store in a daemon thread until `stop()`, running `also_each_poll` too."""

        def loop() -> None:
            while not self._stop.wait(self.poll_seconds):
                # Apart: a broken store must not stop the logs from rotating, nor the reverse.
                for step in (self.refresh, also_each_poll):
                    try:
                        if step:
                            step()
                    except Exception:
                        log.exception("model store poll failed")

        thread = threading.Thread(target=loop, name="champion-follower", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def smoke_row(config: DatasetConfig) -> dict[str, Any]:
    """One valid row of every feature kind, inside each numeric feature's bounds."""
    row: dict[str, Any] = {}
    for f in config.features:
        if f.kind == "numeric":
            low = f.min if f.min is not None else -math.inf
            high = f.max if f.max is not None else math.inf
            row[f.name] = min(max(0.0, low), high)
        elif f.kind == "boolean":
            row[f.name] = False
        else:
            row[f.name] = f.categories[0]
    return row


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
    """Each row's probabilities by class, its predicted class and the scoring time, in order.

    Raises UnscorableRows when the pipeline refuses the values or answers NaN; the fast scorer
    always answers (see `fast_scoring`). A regression model's rows are numbers instead
    (`numeric_scoring.predicted_numbers`).
    """
    if model.regression:
        return predicted_numbers(model, config, rows)
    started = time.perf_counter()
    # The fast scorer has no imputer: a row with an empty (null) feature takes the pipeline.
    fast = model.fast if model.fast is not None and not _has_null(rows) else None
    if fast is not None and len(rows) == 1:
        positive = fast.positive_proba_one(rows[0])
        proba = [[1.0 - positive, positive]]
    elif fast is not None:
        positive = fast.positive_proba(rows)
        proba = np.column_stack([1.0 - positive, positive]).tolist()
    else:
        proba = _pipeline_proba(model, config, rows)
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


def _has_null(rows: list[dict]) -> bool:
    return any(value is None for row in rows for value in row.values())


def _pipeline_proba(model: ServedModel, config: DatasetConfig, rows: list[dict]) -> list:
    return frame_proba(model, config, pd.DataFrame(rows, columns=config.feature_names)).tolist()


def frame_proba(model: ServedModel, config: DatasetConfig, frame: pd.DataFrame) -> np.ndarray:
    """The pipeline's probabilities for the rows of `frame`; UnscorableRows as `predict_rows`."""
    try:
        with np.errstate(all="ignore"):
            if model.config_classes is None:
                proba = model.pipeline.predict_proba(frame)
            else:
                proba = class_proba(model.pipeline, config, frame)
    except ValueError as error:  # e.g. "Input X contains infinity" after scaling 1e308
        raise UnscorableRows(f"model v{model.version} cannot score these values: {error}") from None
    bad = np.flatnonzero(~np.isfinite(proba).all(axis=1))
    if bad.size:
        raise UnscorableRows(
            f"model v{model.version} gives no finite probabilities for rows {bad[:10].tolist()}"
        )
    return proba
