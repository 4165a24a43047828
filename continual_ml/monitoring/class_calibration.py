"""Whether a multiclass model's calibrated confidence can stand for its accuracy before labels.

The multiclass estimate (`performance_estimation.confidence_calibration`) maps each row's
confidence, its highest class probability, to the chance that its predicted class is right,
by isotonic regression on the model's holdout. Judged on the rows it was fitted on, that map
always looks perfect; so this check cross-fits it: each fold of the holdout is calibrated by a
map fitted on the other folds, and the out-of-fold top-label ECE says how well the calibration
carries to rows it has not seen.

A small holdout has a large ECE even when the model is perfectly calibrated (a 20-row bin is
off by ~0.09 by chance alone), so the ECE is compared with what chance gives: the 95th
percentile of the same out-of-fold ECE when the outcomes are drawn from the calibration itself
(a parametric bootstrap of the whole check). The calibration is poor when the out-of-fold ECE
is beyond that, or when the holdout has fewer than `MIN_ROWS` rows.

Whatever this says, the estimate assumes that only the inputs moved (``p(y | x)`` unchanged):
a concept shift is invisible until labels arrive, when `performance_estimation.reliability`
compares the estimate with the realized accuracy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.isotonic import isotonic_regression
from sklearn.model_selection import KFold

#: Fewer holdout rows than this cannot calibrate a confidence map worth trusting.
MIN_ROWS = 100
FOLDS = 5
BINS = 10
CHANCE_DRAWS = 100
EPSILON = 1e-6  # as `performance_estimation.Calibrator`: no row is ever certain


@dataclass(frozen=True)
class CalibrationCheck:
    """What the holdout says about the estimate, before any label of a batch."""

    n: int
    raw_ece: float  # top-label ECE of the model's own confidence
    calibrated_ece: float  # out-of-fold top-label ECE of the calibrated confidence
    chance_ece: float  # 95th percentile of the ECE of a perfectly calibrated model, these rows
    holdout_gap: float  # out-of-fold estimated minus actual accuracy on the holdout
    poor: bool
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def confidence_ece(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> float:
    """Top-label ECE from each row's confidence and whether its prediction was right.

    Examples
    --------
    >>> round(confidence_ece(np.array([0.9, 0.8]), np.array([1.0, 0.0]), bins=2), 6)
    0.35
    """
    which = np.minimum(np.floor(confidence * bins).astype(int), bins - 1)
    gaps = np.bincount(which, weights=correct, minlength=bins) - np.bincount(
        which, weights=confidence, minlength=bins
    )
    return float(np.abs(gaps).sum() / len(confidence))


def _out_of_fold(confidence, correct, folds: int, seed: int) -> np.ndarray:
    """Each row's confidence calibrated by an isotonic map fitted on the other folds."""
    calibrated = np.empty(len(confidence))
    for fit, held in KFold(folds, shuffle=True, random_state=seed).split(confidence):
        calibrated[held] = _isotonic(confidence[fit], correct[fit], confidence[held])
    return calibrated


def _isotonic(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """`Calibrator`'s map (isotonic, clipped at the ends), fitted on (x, y) and read at `at`:
    the bare computation, hundreds of times cheaper than the estimator in the bootstrap."""
    values, inverse = np.unique(x, return_inverse=True)
    counts = np.bincount(inverse)
    means = np.bincount(inverse, weights=y) / counts
    fitted = isotonic_regression(means, sample_weight=counts, y_min=EPSILON, y_max=1 - EPSILON)
    return np.interp(at, values, fitted)


def check_class_calibration(
    probabilities, truth, min_rows: int = MIN_ROWS, folds: int = FOLDS, seed: int = 0
) -> CalibrationCheck:
    """Cross-fit the confidence calibration on a holdout and judge it; see the module.

    ``probabilities`` has a column per class, ``truth`` the index of each row's true class.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    truth = np.asarray(truth, dtype=int)
    n = len(truth)
    confidence = probabilities.max(axis=1) if n else np.zeros(0)
    correct = (probabilities.argmax(axis=1) == truth).astype(float) if n else np.zeros(0)
    if n < max(min_rows, 2 * folds) or correct.min(initial=1) == correct.max(initial=0):
        why = f"{n} holdout rows" if n < min_rows else "a holdout all right or all wrong"
        nan = float("nan")
        reason = f"calibration unchecked: {why} cannot calibrate the confidence (need {min_rows})"
        return CalibrationCheck(n, nan, nan, nan, nan, True, reason)
    calibrated = _out_of_fold(confidence, correct, folds, seed)
    ece = confidence_ece(calibrated, correct)
    # What chance alone gives if the calibration fitted on every row were the truth: outcomes
    # drawn from it, cross-fitted the same way (a parametric bootstrap of the whole check).
    truth_chance = _isotonic(confidence, correct, confidence)
    rng = np.random.default_rng(seed)
    simulated = []
    for _ in range(CHANCE_DRAWS):
        drawn = (rng.random(n) < truth_chance).astype(float)
        simulated.append(confidence_ece(_out_of_fold(confidence, drawn, folds, seed), drawn))
    chance = np.quantile(simulated, 0.95)
    gap = float(calibrated.mean() - correct.mean())
    poor = ece > chance
    verdict = "beyond" if poor else "within"
    reason = (
        f"calibration {'poor' if poor else 'holds'} on {n} holdout rows: out-of-fold top-label "
        f"ECE {ece:.3f} is {verdict} the {chance:.3f} chance allows (raw confidence "
        f"{confidence_ece(confidence, correct):.3f}); the estimate assumes only the inputs moved"
    )
    return CalibrationCheck(
        n, confidence_ece(confidence, correct), ece, float(chance), gap, bool(poor), reason
    )
