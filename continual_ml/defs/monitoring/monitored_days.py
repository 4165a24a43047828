"""Which of a run's days `model_performance` can measure, and the rows it measures them on."""

from continual_ml import warehouse
from continual_ml.warehouse.labelled_rows import rows_with_labels


def days_to_measure(conn, config, days, current: dict, unmonitored: list):
    """Each of `days` with a champion and rows, as (day, champion version, reference window,
    the current window's rows with their newest labels); the others are added to
    `unmonitored` with why. `current` holds each day's own rows, read once for the run."""
    for day in days:
        reference = warehouse.read_window(conn, day, "reference")
        # The model in charge when the partition was monitored: labels landing later
        # re-measure that model, not whichever one is champion by then.
        version = reference["champion_version"]
        if version is None:  # the bootstrap days, before the first model
            unmonitored.append((day, {"champion_version": "none"}))
            continue
        if current[day].empty and len(days) > 1:  # a day whose file was quarantined whole
            unmonitored.append((day, {"observations": "none: nothing measured"}))
            continue
        window = warehouse.read_window(conn, day, "current")
        if window["start"] == window["end"] == day:
            rows = current[day]
        else:
            rows = rows_with_labels(conn, config, window["start"], window["end"])
        yield day, version, reference, rows
