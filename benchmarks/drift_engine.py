"""Our drift engine against Evidently's `DataDriftPreset`: time per batch and verdict agreement.

For each size, a seeded reference and current batch of mixed features (some drifted) are
checked by Evidently and by `continual_ml.monitoring.drift_engine`, whose reference profile is
built once and timed apart from the check. Prints a markdown table and writes JSON to
`benchmarks/results/drift_engine.json`.

    python -m benchmarks.drift_engine --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd

from benchmarks.stamp import stamp
from continual_ml.monitoring.drift_engine import build_profile, check_drift
from continual_ml.monitoring.evidently_report import evidently_drift

RESULTS = Path(__file__).parent / "results" / "drift_engine.json"
ENGINE_REPEATS = 3
CATEGORIES = np.array(["a", "b", "c", "d", "e"], dtype=object)


def _numeric_pair(rng: np.random.Generator, kind: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    # seven kinds of numeric feature, three of them drifted
    if kind == 0:  # mean shift of half a standard deviation
        return rng.normal(0, 1, n), rng.normal(0.5, 1, n)
    if kind == 1:  # variance shift
        return rng.normal(0, 1, n), rng.normal(0, 1.5, n)
    if kind == 2:  # a mean shift too small to matter
        return rng.normal(0, 1, n), rng.normal(0.02, 1, n)
    if kind == 3:  # a count with four values whose mix moves
        return rng.poisson(1.0, n).clip(0, 3), rng.poisson(1.6, n).clip(0, 3)
    if kind == 4:  # a binary flag
        return rng.integers(0, 2, n).astype(float), rng.integers(0, 2, n).astype(float)
    if kind == 5:  # a tenth missing
        pair = rng.normal(0, 1, (2, n))
        pair[rng.random((2, n)) < 0.1] = np.nan
        return pair[0], pair[1]
    return rng.exponential(1.0, n), rng.exponential(1.0, n)


def _categorical_pair(rng: np.random.Generator, kind: int, n: int):
    if kind == 0:  # the mix reverses
        mix = np.array([0.4, 0.3, 0.2, 0.1])
        return CATEGORIES[rng.choice(4, n, p=mix)], CATEGORIES[rng.choice(4, n, p=mix[::-1])]
    if kind == 1:  # a new category takes a twentieth of the current batch
        current = CATEGORIES[rng.choice(5, n, p=[0.2375] * 4 + [0.05])]
        return CATEGORIES[rng.integers(0, 4, n)], current
    return CATEGORIES[rng.integers(0, 4, n)], CATEGORIES[rng.integers(0, 4, n)]


def make_batches(n_rows: int, n_features: int = 20, seed: int = 0):
    """A reference and a current batch of `n_rows` each, and the numeric and categorical names.

    Seven in ten features are numeric; about a third of all features drift.
    """
    rng = np.random.default_rng([seed, n_rows])
    n_numeric = round(n_features * 0.7)
    reference, current = {}, {}
    for i in range(n_features):
        if i < n_numeric:
            name = f"num_{i}"
            reference[name], current[name] = _numeric_pair(rng, i % 7, n_rows)
        else:
            name = f"cat_{i - n_numeric}"
            reference[name], current[name] = _categorical_pair(rng, (i - n_numeric) % 3, n_rows)
    numeric = [f"num_{i}" for i in range(n_numeric)]
    categorical = [f"cat_{i}" for i in range(n_features - n_numeric)]
    return pd.DataFrame(reference), pd.DataFrame(current), numeric, categorical


def _timed(function, *args, repeats: int = 1):
    """The result and the median wall time over `repeats` calls."""
    seconds = []
    for _ in range(repeats):
        start = perf_counter()
        result = function(*args)
        seconds.append(perf_counter() - start)
    return result, float(np.median(seconds))


def run(
    sizes: Sequence[int] = (10_000, 100_000, 1_000_000),
    n_features: int = 20,
    seed: int = 0,
    output: Path | None = RESULTS,
) -> list[dict]:
    """Time Evidently and the engine on each size; print a table and write the JSON rows."""
    rows = []
    print(TABLE_HEADER, flush=True)
    for n_rows in sizes:
        reference, current, numeric, categorical = make_batches(n_rows, n_features, seed)
        evidently, evidently_seconds = _timed(
            evidently_drift, reference, current, numeric, categorical
        )
        # the engine takes a second or two, so a median of three damps noise from a shared machine
        profile, profile_seconds = _timed(
            build_profile, reference, numeric, categorical, repeats=ENGINE_REPEATS
        )
        engine, check_seconds = _timed(check_drift, profile, current, repeats=ENGINE_REPEATS)
        same = [
            e.drifted == o.drifted for e, o in zip(evidently.features, engine.features, strict=True)
        ]
        rows.append(
            {
                "rows": n_rows,
                "features": n_features,
                "evidently_seconds": evidently_seconds,
                "profile_seconds": profile_seconds,
                "check_seconds": check_seconds,
                "speedup_check": evidently_seconds / check_seconds,
                "speedup_profile_and_check": evidently_seconds / (profile_seconds + check_seconds),
                "verdict_agreement": sum(same) / len(same),
                "disagreements": [
                    f.feature for f, agree in zip(engine.features, same, strict=True) if not agree
                ],
                "evidently_drift_share": evidently.drift_share,
                "engine_drift_share": engine.drift_share,
            }
        )
        print(markdown_row(rows[-1]), flush=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        machine = {"python": platform.python_version(), "processor": platform.machine()}
        output.write_text(
            json.dumps(
                {
                    "stamp": stamp(),
                    "seed": seed,
                    "machine": machine,
                    "engine_repeats": ENGINE_REPEATS,
                    "runs": rows,
                },
                indent=2,
            )
        )
    return rows


TABLE_HEADER = (
    "| rows | Evidently s | profile s | check s | profile+check s | speed-up (check) "
    "| speed-up (profile+check) | same verdict |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def markdown_row(row: dict) -> str:
    both = row["profile_seconds"] + row["check_seconds"]
    return (
        f"| {row['rows']:,} | {row['evidently_seconds']:.2f} | {row['profile_seconds']:.3f} "
        f"| {row['check_seconds']:.3f} | {both:.3f} | {row['speedup_check']:.0f}x "
        f"| {row['speedup_profile_and_check']:.0f}x | {row['verdict_agreement']:.0%} |"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    run(arguments.sizes, arguments.features, arguments.seed)


if __name__ == "__main__":
    main()
