"""The drift engine agrees with Evidently's DataDriftPreset, verdict by verdict, on seeded data."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from continual_ml.monitoring import drift_stats
from continual_ml.monitoring.drift_engine import (
    CHI_SQUARE,
    JENSEN_SHANNON,
    KS,
    NO_CURRENT_VALUES,
    NO_REFERENCE_VALUES,
    NO_VALUES,
    WASSERSTEIN,
    Z_TEST,
    build_profile,
    check_drift,
)
from continual_ml.monitoring.evidently_report import evidently_drift
from continual_ml.monitoring.reference_profiles import load_profile, save_profile
from continual_ml.warehouse.claims import WRITE_CLAIMS
from continual_ml.warehouse.schema import PROFILE_TABLES

SEGMENTS = ("north", "south", "east", "west")
NUMERIC, CATEGORICAL = ["x", "count", "flag"], ["segment", "colour"]


def batch(seed, n, shift=0.0, scale=1.0, segments=SEGMENTS, mix=(0.4, 0.3, 0.2, 0.1)):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, scale, n),
            "count": rng.poisson(1.0, n).clip(0, 3).astype(float),
            "flag": (rng.random(n) < 0.3).astype(float),
            "segment": np.array(segments, dtype=object)[rng.choice(len(segments), n, p=mix)],
            "colour": rng.choice(["red", "blue"], n),
        }
    )


def assert_agrees_with_evidently(reference, current, numeric, categorical, method=None):
    """Same features, verdicts, thresholds and scores (and methods, by default) as Evidently."""
    expected = evidently_drift(reference, current, numeric, categorical, method=method)
    profile = build_profile(reference, numeric, categorical)
    actual = check_drift(profile, current, method=method or "auto")
    assert [f.feature for f in actual.features] == [f.feature for f in expected.features]
    for ours, theirs in zip(actual.features, expected.features, strict=True):
        assert ours.drifted == theirs.drifted, (ours, theirs)
        assert ours.threshold == theirs.threshold
        assert ours.score == pytest.approx(theirs.score, rel=1e-6, abs=1e-12), (ours, theirs)
        if method is None:
            assert ours.method == theirs.method
    assert actual.drift_share == expected.drift_share
    return {f.feature: (f.method, f.drifted) for f in actual.features}


LARGE_CASES = {
    "no drift": ({}, {}),
    "mean shift": ({"shift": 0.5}, {"x": (WASSERSTEIN, True)}),
    "variance shift": ({"scale": 1.6}, {"x": (WASSERSTEIN, True)}),
    "new category": (
        {"segments": (*SEGMENTS, "central"), "mix": (0.3, 0.25, 0.2, 0.1, 0.15)},
        {"segment": (JENSEN_SHANNON, True)},
    ),
    "missing category": (
        {"segments": SEGMENTS[:3], "mix": (0.45, 0.35, 0.2)},
        {"segment": (JENSEN_SHANNON, True)},
    ),
}


SMALL_CASES = {
    "no drift": ({}, {}),
    "mean shift": ({"shift": 0.5}, {"x": (KS, True)}),
    "variance shift": ({"scale": 1.8}, {"x": (KS, True)}),
    "new and missing category": (
        {"segments": ("north", "south", "east", "central"), "mix": (0.4, 0.3, 0.2, 0.1)},
        {"segment": (CHI_SQUARE, True)},
    ),
}


# Per sample size: (seed, rows) of the reference and of the current batch, the method each
# column is tested with at that size, and the cases.
SAMPLES = {
    "large": (
        (1, 3000),
        (2, 2000),
        {"x": WASSERSTEIN, "count": JENSEN_SHANNON, "flag": JENSEN_SHANNON}
        | {"segment": JENSEN_SHANNON, "colour": JENSEN_SHANNON},
        LARGE_CASES,
    ),
    "small": (
        (3, 600),
        (4, 400),
        {"x": KS, "count": CHI_SQUARE, "flag": Z_TEST, "segment": CHI_SQUARE, "colour": Z_TEST},
        SMALL_CASES,
    ),
}
SAMPLE_CASES = [(size, case) for size, (*_, cases) in SAMPLES.items() for case in cases]


@pytest.mark.parametrize(
    "size, case", SAMPLE_CASES, ids=[f"{size} samples, {case}" for size, case in SAMPLE_CASES]
)
def test_samples_agree_with_evidently(size, case):
    reference_sample, current_sample, methods, cases = SAMPLES[size]
    current_shape, drifted = cases[case]
    reference, current = batch(*reference_sample), batch(*current_sample, **current_shape)
    verdicts = assert_agrees_with_evidently(reference, current, NUMERIC, CATEGORICAL)
    assert verdicts == {name: (method, False) for name, method in methods.items()} | drifted


def test_a_small_reference_against_a_large_batch_agrees_with_evidently():
    verdicts = assert_agrees_with_evidently(
        batch(5, 900), batch(6, 20_000, shift=0.1), NUMERIC, CATEGORICAL
    )
    assert verdicts["x"] == (KS, True) and verdicts["flag"] == (Z_TEST, False)


@pytest.mark.parametrize("n_rows", [1000, 1001])
def test_the_method_boundaries_agree_with_evidently(n_rows):
    rng = np.random.default_rng(n_rows)
    reference, current = batch(17, n_rows), batch(18, n_rows)
    # five values are still "few values"; a sixth, new in the current batch, is not
    reference["five"], current["five"] = rng.integers(1, 6, (2, n_rows)).astype(float)
    reference["six"] = rng.integers(1, 6, n_rows).astype(float)
    current["six"] = rng.integers(1, 7, n_rows).astype(float)
    numeric = [*NUMERIC, "five", "six"]
    verdicts = assert_agrees_with_evidently(reference, current, numeric, CATEGORICAL)
    small = n_rows <= 1000
    assert verdicts["x"][0] == verdicts["six"][0] == (KS if small else WASSERSTEIN)
    assert verdicts["five"][0] == (CHI_SQUARE if small else JENSEN_SHANNON)
    assert verdicts["six"][1] and not verdicts["five"][1]


@pytest.mark.parametrize("n_rows", [500, 2000])
def test_constant_columns_agree_with_evidently(n_rows):
    reference, current = batch(7, n_rows), batch(8, n_rows)
    for frame, moved in ((reference, 1.0), (current, 2.0)):
        frame["steady"], frame["moved"], frame["label"] = 1.0, moved, "only"
    numeric, categorical = [*NUMERIC, "steady", "moved"], [*CATEGORICAL, "label"]
    verdicts = assert_agrees_with_evidently(reference, current, numeric, categorical)
    binary_method = Z_TEST if n_rows <= 1000 else JENSEN_SHANNON
    assert verdicts["steady"] == verdicts["label"] == (binary_method, False)
    assert verdicts["moved"] == (binary_method, True)


def test_columns_without_values_are_reported_apart_from_the_rest():
    reference, current = batch(9, 1500), batch(10, 1500, shift=0.5)
    reference["empty"], current["empty"] = np.nan, np.nan
    reference["emptied"], current["emptied"] = 1.0, np.nan
    reference["filled"], current["filled"] = None, "yes"
    reference["filled"] = reference["filled"].astype(object)
    # Evidently cannot test a column with no values, so it sees only the others
    verdicts = assert_agrees_with_evidently(reference, current, NUMERIC, CATEGORICAL)
    assert verdicts["x"] == (WASSERSTEIN, True)

    profile = build_profile(reference, [*NUMERIC, "empty", "emptied"], [*CATEGORICAL, "filled"])
    check = check_drift(profile, current)
    empty = {f.feature: (f.method, f.drifted) for f in check.features[-3:]}
    assert empty == {
        "empty": (NO_VALUES, False),
        "emptied": (NO_CURRENT_VALUES, True),
        "filled": (NO_REFERENCE_VALUES, True),
    }
    assert check.n_tested == 7
    assert check.drift_share == (sum(drifted for _, drifted in verdicts.values()) + 2) / 7


@pytest.mark.parametrize("n_rows", [700, 3000])
def test_psi_agrees_with_evidently(n_rows):
    reference = batch(11, n_rows)
    current = batch(12, n_rows, shift=0.4, segments=(*SEGMENTS, "central"), mix=(0.2,) * 5)
    verdicts = assert_agrees_with_evidently(reference, current, NUMERIC, CATEGORICAL, "psi")
    assert {method for method, _ in verdicts.values()} == {"PSI"}
    assert verdicts["segment"][1] and not verdicts["colour"][1]


def test_the_profile_round_trips_through_a_duckdb_file(tmp_path):
    reference, current = batch(13, 1200), batch(14, 800, shift=0.3)
    reference.loc[::7, "x"] = np.nan
    reference["empty"], current["empty"] = np.nan, np.nan
    profile = build_profile(reference, [*NUMERIC, "empty"], CATEGORICAL)
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(PROFILE_TABLES + WRITE_CLAIMS)  # a keyed write claims its table
        save_profile(conn, "champion-v1", profile)
        save_profile(conn, "champion-v2", build_profile(current, NUMERIC, CATEGORICAL))
        save_profile(conn, "champion-v1", profile)  # saving again replaces, not appends
    with duckdb.connect(str(path)) as conn:
        loaded = load_profile(conn, "champion-v1")
        n_rows = conn.execute("SELECT count(*) FROM reference_profiles").fetchone()[0]
        with pytest.raises(KeyError):
            load_profile(conn, "champion-v9")
    with duckdb.connect(str(tmp_path / "fresh.duckdb")) as conn, pytest.raises(KeyError):
        load_profile(conn, "champion-v1")
    assert n_rows == 6 + 5
    assert loaded.feature_names == profile.feature_names == [*NUMERIC, *CATEGORICAL, "empty"]
    for before, after in zip(profile.features, loaded.features, strict=True):
        assert type(after) is type(before) and after.n_missing == before.n_missing
        if hasattr(before, "sorted_values"):
            np.testing.assert_array_equal(after.sorted_values, before.sorted_values)
            assert after.std == before.std or np.isnan(after.std) and np.isnan(before.std)
        else:
            assert after.counts == before.counts
    assert loaded.features[0].n_missing == len(reference.loc[::7])
    assert check_drift(loaded, current) == check_drift(profile, current)
    with pytest.raises(KeyError, match="empty"):
        check_drift(loaded, current.drop(columns="empty"))


def test_wasserstein_from_sorted_samples_matches_scipy_with_ties_and_unequal_sizes():
    rng = np.random.default_rng(15)
    for n_ref, n_cur in [(5, 7), (1000, 333), (40, 40)]:
        reference = np.sort(rng.integers(0, 6, n_ref).astype(float))
        current = np.sort(rng.integers(0, 8, n_cur) * 0.5)
        expected = stats.wasserstein_distance(reference, current) / 2.0
        assert drift_stats.wasserstein_normed(reference, current, 2.0) == pytest.approx(expected)


def test_sturges_bins_and_counts_match_numpy():
    rng = np.random.default_rng(16)
    reference, current = rng.normal(size=999), rng.normal(0.3, 2, size=1234)
    combined = np.concatenate([reference, current])
    edges = drift_stats.sturges_edges(combined.min(), combined.max(), len(combined))
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(combined, bins="sturges"))
    counts = drift_stats.histogram_of_sorted(np.sort(reference), edges)
    np.testing.assert_array_equal(counts, np.histogram(reference, edges)[0])
