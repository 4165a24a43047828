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

from collections.abc import Sequence

# shares are float quotients: a rise of exactly the maximum must not count as more
RISE_TOLERANCE = 1e-9


def error_rise_finding(
    max_performance_drop: float,
    realized_error: float | None,
    estimated_error: float | None,
    champion_error: float | None,
    metric: str = "mae",
) -> tuple[bool, str | None]:
    """Whether the day's error rose too far above the champion's promoted error, and by how much.

    >>> error_rise_finding(0.05, 1.2, None, 1.0)
    (True, "realized mae 1.200 is 20.0% above the champion's 1.000 (more than the 5.0% allowed)")
    >>> error_rise_finding(0.05, None, 1.03, 1.0)[0]
    False
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
    return rose, (
        f"{kind} {metric} {error:.3f} is {rise:.1%} above the champion's {champion_error:.3f} "
        f"({'more than' if rose else 'within'} the {max_performance_drop:.1%} allowed)"
    )


def error_decay_finding(
    decay_partitions: int, max_decay: float, errors: Sequence[float], metric: str = "mae"
) -> tuple[bool, str | None]:
    """Whether the champion's realized error grew since its first partitions.

    `errors` are the champion's realized daily errors since its last retrain, oldest first
    (partitions that failed validation left out), as `accuracy_findings.decay_finding` collects
    accuracies.

    >>> error_decay_finding(3, 0.02, [1.0, 1.0, 1.0, 1.1, 1.1, 1.1])[0]
    True
    >>> error_decay_finding(3, 0.02, [1.0, 1.0, 1.0])  # a window compared with itself
    (False, None)
    """
    window = decay_partitions
    if window == 0 or len(errors) <= window:
        return False, None
    first, last = sum(errors[:window]) / window, sum(errors[-window:]) / window
    if first <= 0 or last <= first:
        return False, None
    rise = last / first - 1
    decayed = rise > max_decay + RISE_TOLERANCE
    return decayed, (
        f"realized {metric} over the last {window} partitions {last:.3f} is {rise:.1%} above the "
        f"champion's first {window} since its last retrain ({first:.3f}; "
        f"{'more than' if decayed else 'within'} the {max_decay:.1%} allowed)"
    )
