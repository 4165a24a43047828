"""Concept-drift streams from river's generators, and the models the strategies share on them.

river's `ConceptDriftStream` overflows for large positions and widths, so the drifts are built
here by chaining generator instances: each concept is its own seeded generator, and every row of
a batch is drawn from the newest concept with a probability that is 1 after an abrupt drift and
rises by `1 / (width + 1)` per batch over a gradual one (a batch inside a transition mixes the
old and the new concept). All features are numeric, Agrawal's integer-coded `elevel`, `car` and
`zipcode` included: the tree models split on them as on any number. Agrawal has no noise here:
river's feature perturbation clamps `hvalue` against inverted bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from time import perf_counter

import numpy as np
import pandas as pd
from river.datasets import synth

from continual_ml.config import DatasetConfig
from continual_ml.monitoring.drift_engine import ReferenceProfile, build_profile
from continual_ml.training.pipeline import WindowSplit, fit_candidate, split_window

START_DATE = date(2026, 1, 1)
LABEL = "label"
# SEA's thresholds in the order of the original paper (8, 9, 7, 9.5), with its 10% label noise.
SEA_VARIANTS = (0, 1, 2, 3)
SEA_NOISE = 0.1
# Agrawal functions whose successive switches relabel half the rows or more (measured on 5,000
# rows: 0 -> 5 keeps 28% of labels, 5 -> 2 49%, 2 -> 6 50%), and with both classes common.
AGRAWAL_FUNCTIONS = (0, 5, 2, 6)
HYPERPLANE_FEATURES = 10
GRADUAL_WIDTH = 4  # batches over which a gradual drift mixes in the new concept


@dataclass(frozen=True)
class DriftStream:
    """Daily batches of labelled rows and the batches where a new concept first appears."""

    name: str
    description: str
    batches: list[pd.DataFrame]
    feature_names: list[str]
    drift_batches: tuple[int, ...]
    width: int  # 0 for abrupt drift, else the batches a gradual drift takes

    def new_concept_share(self, batch: int) -> float:
        """The share of the batch's rows drawn from the newest concept started by then."""
        return new_concept_share(batch, self.drift_batches, self.width)


def drift_positions(n_batches: int, n_drifts: int) -> tuple[int, ...]:
    """Drifts evenly spaced over the stream, the first a `1 / (n_drifts + 1)` of the way in."""
    return tuple(round(n_batches * k / (n_drifts + 1)) for k in range(1, n_drifts + 1))


def new_concept_share(batch: int, drift_batches: Sequence[int], width: int) -> float:
    """The newest concept's share: 1 after an abrupt drift, k / (width + 1) in a gradual one."""
    started = [start for start in drift_batches if start <= batch]
    if not started:
        return 1.0  # the first concept has the stream to itself
    return min(1.0, (batch - max(started) + 1) / (width + 1))


def concept_batches(
    concepts: Sequence[Iterator[tuple[dict, object]]],
    drift_batches: Sequence[int],
    width: int,
    n_batches: int,
    batch_size: int,
    seed: int,
) -> list[pd.DataFrame]:
    """Cut the chained concepts into batches: concept k takes over from drift k - 1 on."""
    if len(concepts) != len(drift_batches) + 1:
        raise ValueError("need one concept more than there are drifts")
    if list(drift_batches) != sorted(drift_batches) or (
        len(drift_batches) > 1 and min(np.diff(drift_batches)) <= width
    ):
        raise ValueError("drifts must be in order and each transition over before the next")
    mixing = np.random.default_rng(seed)
    batches = []
    for batch in range(n_batches):
        newest = sum(start <= batch for start in drift_batches)
        share = new_concept_share(batch, drift_batches, width)
        from_newest = mixing.random(batch_size) < share
        rows = [next(concepts[newest] if new else concepts[newest - 1]) for new in from_newest]
        batches.append(_as_frame(rows, batch, batch_size))
    return batches


def _as_frame(rows: list[tuple[dict, object]], batch: int, batch_size: int) -> pd.DataFrame:
    frame = pd.DataFrame([x for x, _ in rows])
    frame.columns = [c if isinstance(c, str) else f"x{c}" for c in frame.columns]
    frame = frame.astype(float)
    frame[LABEL] = np.array([int(y) for _, y in rows])
    day = START_DATE + timedelta(days=batch)
    midnight = datetime(day.year, day.month, day.day)
    # spread over the day so that the newest rows (the training holdout) are the batch's last
    frame["event_time"] = midnight + pd.to_timedelta(
        np.arange(batch_size) * (86_400 / batch_size), unit="s"
    )
    frame["row_id"] = np.arange(batch_size) + batch * batch_size
    frame["partition_date"] = day
    return frame


def _iterators(make: Callable[[int, int], Iterable], n: int, seed: int) -> list[Iterator]:
    """One iterator per concept k, made once from `make(k, its seed)`.

    river reseeds a generator on every `iter()`, so each concept keeps its one iterator, and
    concepts get seeds of their own so that they do not repeat each other's rows.
    """
    return [iter(make(k, seed + 1000 * k)) for k in range(n)]


def chained_stream(
    name: str,
    description: str,
    make: Callable[[int, int], Iterable],
    n_concepts: int,
    feature_names: list[str],
    n_batches: int,
    batch_size: int,
    seed: int,
    width: int = 0,
) -> DriftStream:
    """`n_concepts` concepts, `make(k, seed)` each, taking over at evenly spaced drifts; a
    `width` of 0 makes the drifts abrupt."""
    drifts = drift_positions(n_batches, n_concepts - 1)
    concepts = _iterators(make, n_concepts, seed)
    batches = concept_batches(concepts, drifts, width, n_batches, batch_size, seed)
    return DriftStream(name, description, batches, feature_names, drifts, width)


def sea_abrupt(n_batches: int, batch_size: int, seed: int = 0) -> DriftStream:
    return chained_stream(
        "sea_abrupt",
        f"SEA variants {SEA_VARIANTS} (thresholds 8, 9, 7, 9.5), {SEA_NOISE:.0%} label noise",
        lambda k, s: synth.SEA(variant=SEA_VARIANTS[k], noise=SEA_NOISE, seed=s),
        len(SEA_VARIANTS),
        ["x0", "x1", "x2"],
        n_batches,
        batch_size,
        seed,
    )


def agrawal_abrupt(n_batches: int, batch_size: int, seed: int = 0) -> DriftStream:
    return chained_stream(
        "agrawal_abrupt",
        f"Agrawal functions {AGRAWAL_FUNCTIONS}, no noise",
        lambda k, s: synth.Agrawal(classification_function=AGRAWAL_FUNCTIONS[k], seed=s),
        len(AGRAWAL_FUNCTIONS),
        ["salary", "commission", "age", "elevel", "car", "zipcode", "hvalue", "hyears", "loan"],
        n_batches,
        batch_size,
        seed,
    )


def hyperplane_gradual(n_batches: int, batch_size: int, seed: int = 0) -> DriftStream:
    n_concepts = 3
    return chained_stream(
        "hyperplane_gradual",
        f"{n_concepts} random {HYPERPLANE_FEATURES}-d hyperplanes (5% label noise), each drift "
        f"mixing the next in over {GRADUAL_WIDTH} batches",
        lambda k, s: synth.Hyperplane(seed=s, n_features=HYPERPLANE_FEATURES),
        n_concepts,
        [f"x{i}" for i in range(HYPERPLANE_FEATURES)],
        n_batches,
        batch_size,
        seed,
        GRADUAL_WIDTH,
    )


STREAMS = {
    "sea_abrupt": sea_abrupt,
    "agrawal_abrupt": agrawal_abrupt,
    "hyperplane_gradual": hyperplane_gradual,
}


def accuracy(proba: np.ndarray, truth) -> float:
    """Accuracy at the 0.5 threshold, as monitoring and the gate count it."""
    return float(np.mean((proba >= 0.5).astype(int) == np.asarray(truth)))


def previous_label_accuracy(stream: DriftStream, batch: int) -> float:
    """The trivial baseline: each row's label predicted as the label of the row before it."""
    labels = stream.batches[batch][LABEL].to_numpy()
    before = stream.batches[batch - 1][LABEL].iloc[-1]
    return float(np.mean(labels == np.concatenate([[before], labels[:-1]])))


@dataclass
class Candidate:
    model: object
    split: WindowSplit


class TrainedModels:
    """The candidate trained on the window ending at each batch, and its scores, each made once.

    Training is seeded, so two strategies retraining after the same batch get the same model:
    they share it, and a model is named by the last batch of its training window.
    """

    def __init__(self, stream: DriftStream, config: DatasetConfig):
        self.stream, self.config = stream, config
        self.window = config.model.training_window_days
        self._candidates: dict[int, Candidate] = {}
        self._batch_accuracy: dict[tuple[int, int], float] = {}
        self._profiles: dict[int, ReferenceProfile] = {}
        self.fit_seconds = 0.0

    def window_rows(self, end: int) -> pd.DataFrame:
        return pd.concat(self.stream.batches[end - self.window + 1 : end + 1], ignore_index=True)

    def candidate(self, end: int) -> Candidate:
        """Trained as the retrain job trains: on the window, its newest rows held out."""
        if end not in self._candidates:
            started = perf_counter()
            split = split_window(self.window_rows(end), self.config.model.holdout_fraction)
            model = fit_candidate(self.config, split.train)
            self.fit_seconds += perf_counter() - started
            self._candidates[end] = Candidate(model, split)
        return self._candidates[end]

    def predict(self, end: int, rows: pd.DataFrame) -> np.ndarray:
        return self.candidate(end).model.predict_proba(rows[self.config.feature_names])[:, 1]

    def accuracy_on_batch(self, end: int, batch: int) -> float:
        if (end, batch) not in self._batch_accuracy:
            rows = self.stream.batches[batch]
            self._batch_accuracy[end, batch] = accuracy(self.predict(end, rows), rows[LABEL])
        return self._batch_accuracy[end, batch]

    def reference_profile(self, end: int) -> ReferenceProfile:
        """The model's training window profiled, as `drift_report` profiles the champion's."""
        if end not in self._profiles:
            self._profiles[end] = build_profile(
                self.window_rows(end),
                numeric_features=self.config.feature_names,
                categorical_features=[],
            )
        return self._profiles[end]
