"""The retraining policy's performance checks for a number, where lower error is better.

Classification compares accuracies, points apart (`accuracy_findings`). An error has the
target's units, so the same two settings are read as shares of the champion's own error:

- `policy.max_performance_drop`: retrain when the day's error (realized, else estimated) is
  more than this share above the champion's error on its promotion holdout (0.05: an MAE 5 %
  above the promoted one);
- `policy.max_decay`: retrain when the champion's mean error over its last `decay_partitions`
  partitions is more than this share above its mean over its first ones since its last retrain.

The error is the gate's metric as a daily mean: MAE for ``absolute_error``, MSE for
``squared_error``. Plain numbers in, a finding out, as `accuracy_findings` does, so the sensor
can call either once monitoring records a realized error per partition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# shares are float quotients: a rise of exactly the maximum must not count as more
RISE_TOLERANCE = 1e-9


def error_rise_finding(
    max_performance_drop: float,
    realized_error: float | None,
    estimated_error: float | None,
    champion_error: float | None,
    metric: str = "mae",
    noise: float = 0.0,
) -> tuple[bool, str | None]:
    """Whether the day's error rose too far above the champion's promoted error, and by how much.

    A realized error must also be above the allowed one by more than `noise` (`noise_margin`,
    in the error's units): a day's mean error of a few hundred rows is a few per cent from
    the truth by chance, as far as the allowance itself.

    >>> error_rise_finding(0.05, 1.2, None, 1.0)
    (True, "realized mae 1.200 is 20.0% above the champion's 1.000 (more than the 5.0% allowed)")
    >>> error_rise_finding(0.05, None, 1.03, 1.0)[0]
    False
    >>> error_rise_finding(0.05, 1.2, None, 1.0, noise=0.3)
    (False, "realized mae 1.200 is 20.0% above the champion's 1.000 (within noise of 0.300)")
    """
    if realized_error is not None:
        kind, error = "realized", realized_error
    elif estimated_error is not None:
        kind, error = "estimated", estimated_error
    else:
        return False, None
    if champion_error is None or champion_error <= 0:
        return False, f"{kind} {metric} {error:.3f}, no positive champion error to compare"
    rise = error / champion_error - 1
    if rise <= 0:
        return (
            False,
            f"{kind} {metric} {error:.3f} is at or below the champion's {champion_error:.3f}",
        )
    rose = rise > max_performance_drop + RISE_TOLERANCE
    above = f"{kind} {metric} {error:.3f} is {rise:.1%} above the champion's {champion_error:.3f}"
    if rose and kind == "realized" and error <= champion_error * (1 + max_performance_drop) + noise:
        return False, f"{above} ({_within(noise)})"
    return rose, (
        f"{above} ({'more than' if rose else 'within'} the {max_performance_drop:.1%} allowed)"
    )


def error_decay_finding(
    decay_partitions: int,
    max_decay: float,
    errors: Sequence[float],
    metric: str = "mae",
    noise: float = 0.0,
) -> tuple[bool, str | None]:
    """Whether the champion's realized error grew since its first partitions.

    `errors` are the champion's realized daily errors since its last retrain, oldest first
    (partitions that failed validation left out), as `accuracy_findings.decay_finding` collects
    accuracies. The last mean must also be above the allowed one by more than `noise` (in
    the error's units: `performance_findings.decay_noise`).

    >>> error_decay_finding(3, 0.02, [1.0, 1.0, 1.0, 1.1, 1.1, 1.1])[0]
    True
    >>> error_decay_finding(3, 0.02, [1.0, 1.0, 1.0])  # a window compared with itself
    (False, None)
    >>> error_decay_finding(3, 0.02, [1.0, 1.0, 1.0, 1.1, 1.1, 1.1], noise=0.2)[1]
    "realized mae over the last 3 partitions 1.100 is 10.0% above the champion's first 3 since its last retrain (1.000; within noise of 0.200)"
    """  # noqa: E501
    window = decay_partitions
    if window == 0 or len(errors) <= window:
        return False, None
    first, last = sum(errors[:window]) / window, sum(errors[-window:]) / window
    if first <= 0 or last <= first:
        return False, None
    rise = last / first - 1
    decayed = rise > max_decay + RISE_TOLERANCE
    above = (
        f"realized {metric} over the last {window} partitions {last:.3f} is {rise:.1%} above the "
        f"champion's first {window} since its last retrain ({first:.3f}; "
    )
    if decayed and last <= first * (1 + max_decay) + noise:
        return False, f"{above}{_within(noise)})"
    return decayed, f"{above}{'more than' if decayed else 'within'} the {max_decay:.1%} allowed)"


def error_onset(
    days: Sequence,
    promoted: float | None,
    max_rise: float,
    promoted_rows: int | None = None,
    alpha: float = 0.01,
) -> str | None:
    """The first partition of the newest run of the champion's own partitions whose realized
    error rose more than `max_rise` (a share) above its promoted error, beyond noise.

    As `shift_episode.accuracy_onset` does for an accuracy: one partition confirms it when its
    error on `n_labelled` rows is above ``promoted * (1 + max_rise)`` by more than a one-sided
    test at `alpha` allows, the spread of its rows' losses (`error_sd`) counting the noise of
    both the day and the `promoted_rows` the promoted error was measured on. Without a spread
    or row counts, any rise beyond `max_rise`. `days` are `PartitionObservation`s.

    >>> from types import SimpleNamespace as Day
    >>> def day(p, e, n=400, sd=1.0):
    ...     return Day(partition=p, realized_error=e, n_labelled=n, error_sd=sd,
    ...                validation_passed=True, champion_version=1)
    >>> error_onset([day("d1", 1.0), day("d2", 3.0), day("d3", 3.1)], 1.0, 0.05)
    'd2'
    >>> error_onset([day("d1", 1.0), day("d2", 1.2, n=20)], 1.0, 0.05) is None
    True
    """
    if promoted is None or promoted <= 0 or not days:
        return None
    version = next((d.champion_version for d in reversed(days) if d.champion_version), None)
    ceiling = promoted * (1 + max_rise)
    run: list[str] = []
    onset = None
    for day in days:
        error = getattr(day, "realized_error", None)
        if day.champion_version != version or not day.validation_passed or error is None:
            continue
        if _rose(error, ceiling, day, promoted_rows, alpha):
            run.append(day.partition)
            continue
        onset, run = (run[0] if run else onset), []
    return run[0] if run else onset


def _rose(error: float, ceiling: float, day, promoted_rows: int | None, alpha: float) -> bool:
    return error > ceiling + max(noise_margin(day, promoted_rows, alpha), RISE_TOLERANCE)


def noise_margin(day, promoted_rows: int | None, alpha: float) -> float:
    """How far above its allowed value a day's realized error may be by chance, one-sided at
    `alpha`: the spread of its rows' losses (`error_sd`) over its `n_labelled` rows and the
    `promoted_rows` of the promoted error. Unbounded when the day's rows are counted but too
    few to have a spread (one label: no evidence of a rise at all); 0 when neither is known
    (events recorded before monitoring kept them).

    >>> from types import SimpleNamespace as Day
    >>> round(noise_margin(Day(error_sd=1.0, n_labelled=100), 100, 0.01), 3)
    0.329
    >>> noise_margin(Day(error_sd=None, n_labelled=1), 100, 0.01)
    inf
    """
    spread = getattr(day, "error_sd", None)
    rows = getattr(day, "n_labelled", None)
    if rows and not spread:
        return math.inf
    counts = [n for n in (rows, promoted_rows) if n]
    if not spread or not counts:
        return 0.0
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha) * spread * sum(1 / n for n in counts) ** 0.5


def _within(noise: float) -> str:
    if math.isinf(noise):
        return "too few labelled rows to tell a rise from noise"
    return f"within noise of {noise:.3f}"
