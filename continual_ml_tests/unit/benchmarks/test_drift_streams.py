"""The drift streams behind the continual-learning benchmark, and its determinism."""

import numpy as np
from river.datasets import synth

from benchmarks.continual_learning import run_stream
from benchmarks.drift_streams import (
    LABEL,
    concept_batches,
    drift_positions,
    hyperplane_gradual,
    sea_abrupt,
)

SEA_THRESHOLDS = {0: 8.0, 1: 9.0, 2: 7.0, 3: 9.5}


def best_sea_threshold(batch) -> float:
    """The SEA threshold whose rule `x0 + x1 > threshold` agrees with most of the labels."""
    total = (batch["x0"] + batch["x1"]).to_numpy()
    agreement = {
        threshold: np.mean((total > threshold) == batch[LABEL].to_numpy())
        for threshold in SEA_THRESHOLDS.values()
    }
    return max(agreement, key=agreement.get)


def test_sea_switches_concept_exactly_at_the_documented_batches():
    stream = sea_abrupt(n_batches=12, batch_size=1000, seed=0)
    assert stream.drift_batches == drift_positions(12, 3) == (3, 6, 9)
    expected = [SEA_THRESHOLDS[sum(b >= d for d in (3, 6, 9))] for b in range(12)]
    assert [best_sea_threshold(batch) for batch in stream.batches] == expected


def test_a_gradual_drift_mixes_in_the_new_concept_batch_by_batch():
    concepts = [iter(synth.SEA(variant=0, noise=0.1, seed=1)), iter(synth.SEA(variant=3, seed=2))]
    batches = concept_batches(concepts, [2], width=4, n_batches=8, batch_size=2000, seed=0)
    shares = []
    for batch in batches:
        total = batch["x0"] + batch["x1"]
        # between the thresholds 8 and 9.5 the old concept says 1 and the new one 0
        between = batch[(total > 8) & (total <= 9.5)]
        old_labels = between[LABEL].mean()
        shares.append(float((0.9 - old_labels) / 0.9))  # the old concept has 10% noise
    assert np.allclose(shares, [0, 0, 0.2, 0.4, 0.6, 0.8, 1, 1], atol=0.1), shares
    assert [hyperplane_gradual(20, 10).new_concept_share(b) for b in range(6, 13)] == [
        1.0,
        0.2,
        0.4,
        0.6,
        0.8,
        1.0,
        1.0,
    ]


def test_the_comparison_is_deterministic_for_a_seed():
    first = run_stream(sea_abrupt(10, 500, seed=3), window=1, fixed_every=3)
    again = run_stream(sea_abrupt(10, 500, seed=3), window=1, fixed_every=3)
    assert first["summary"] == again["summary"]
    assert first["accuracy_per_batch"] == again["accuracy_per_batch"]
    assert first["policy"]["decisions"] == again["policy"]["decisions"]
    other_seed = sea_abrupt(10, 500, seed=4)
    assert not other_seed.batches[0].equals(sea_abrupt(10, 500, seed=3).batches[0])
    summary = first["summary"]
    assert first["scored_batches"] == list(range(1, 10))
    assert summary["every batch"]["retrains"] == 8 and summary["fixed schedule"]["retrains"] == 2
    assert 0 <= summary["policy"]["promotions"] <= summary["policy"]["retrains"] <= 8
    # every strategy with a model predicts the first scored batch with the same first model
    firsts = {first["accuracy_per_batch"][name][0] for name in ("static", "every batch", "policy")}
    assert len(firsts) == 1
