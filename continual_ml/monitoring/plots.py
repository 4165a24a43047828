"""The monitoring plots shown on the assets: titled, with legends that name every mark."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from continual_ml.training.plots import figure_png

SIZE, DPI = (8.0, 4.0), 100


def accuracy_history_png(history: pd.DataFrame) -> bytes:
    """Estimated against realized accuracy per partition, each champion change marked."""
    return _history_png(history, "accuracy", "estimated (CBPE)", (0, 1.02), "lower left")


def error_history_png(history: pd.DataFrame) -> bytes:
    """A regression champion's estimated against realized MAE per partition (from
    `regression_performance`), each champion change marked."""
    top = float(np.nanmax(history[["realized_mae", "estimated_mae"]].to_numpy(float), initial=0))
    limits = (0, 1.1 * top if top > 0 else 1.0)
    return _history_png(history, "mae", "estimated (direct loss estimation)", limits, "upper left")


def _history_png(history, measure: str, estimate: str, limits, legend: str) -> bytes:
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = figure.subplots()
    history = history.sort_values("partition_date")
    x = pd.to_datetime(history["partition_date"])
    axes.plot(x, history[f"realized_{measure}"], marker="o", label="realized (labelled rows)")
    axes.plot(x, history[f"estimated_{measure}"], marker="x", linestyle="--", label=estimate)
    versions = history["champion_version"].to_numpy()
    changed = np.flatnonzero(versions[1:] != versions[:-1]) + 1
    for n, index in enumerate(changed):
        axes.axvline(
            x.iloc[index],
            color="grey",
            alpha=0.5,
            linestyle=":",
            label="champion change" if n == 0 else None,
        )
        axes.annotate(
            f"v{int(versions[index])}",
            (x.iloc[index], limits[0] + 0.04 * (limits[1] - limits[0])),
            xytext=(3, 0),
            textcoords="offset points",
            color="grey",
        )
    axes.set_ylim(*limits)
    name = "accuracy" if measure == "accuracy" else measure.upper()
    axes.set_ylabel(name)
    first = int(versions[0]) if len(versions) else None
    axes.set_title(f"Champion {name} per partition (v{first} at the start)")
    axes.legend(loc=legend)
    figure.autofmt_xdate()
    return figure_png(figure)


def feature_drift_png(scores: pd.DataFrame, drift_share_threshold: float | None = None) -> bytes:
    """Per-feature drift score against its threshold for one partition."""
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = figure.subplots()
    colours = np.where(scores["drifted"], "tab:red", "tab:blue")
    axes.bar(scores["feature"], scores["score"], color=colours)
    # a feature with too few values that day has no verdict, so no threshold to draw (and a
    # scatter of only NaN breaks matplotlib's category axis)
    tested = scores[scores["threshold"].notna()]
    axes.scatter(tested["feature"], tested["threshold"], marker="_", s=400, color="black", zorder=3)
    axes.set_ylabel("drift score (method per feature)")
    share = float(scores["drifted"].mean()) if len(scores) else 0.0
    day = (
        str(scores["partition_date"].iloc[0]) if "partition_date" in scores and len(scores) else ""
    )
    policy = f" (policy threshold {drift_share_threshold:.2f})" if drift_share_threshold else ""
    axes.set_title(f"Feature drift {day}: share {share:.2f}{policy}".replace("  ", " "))
    axes.legend(
        handles=[
            Patch(color="tab:red", label="drifted"),
            Patch(color="tab:blue", label="not drifted"),
            axes.scatter([], [], marker="_", s=400, color="black", label="threshold"),
        ],
        loc="upper right",
    )
    return figure_png(figure)
