"""Regression evaluation plots as PNG bytes: predicted against actual, and residuals.

Each compares the candidate with the champion when a champion is given, drawn on matplotlib's
Agg canvas as the classification plots are (`plots`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from continual_ml.training.plots import FIGSIZE, figure_png, models_to_draw
from continual_ml.training.regression_metrics import as_regression_arrays

POINT_SIZE = 6
MAX_POINTS = 2000  # a scatter of more says nothing more and makes the PNG heavy


def _models(truth, candidate, champion) -> tuple[np.ndarray, list[tuple]]:
    return models_to_draw(truth, candidate, champion, as_regression_arrays)


def _shown(n: int) -> np.ndarray:
    """The rows drawn: all of them, or an evenly spaced `MAX_POINTS`."""
    return np.arange(n) if n <= MAX_POINTS else np.linspace(0, n - 1, MAX_POINTS).astype(int)


def predicted_vs_actual_png(truth, candidate, champion=None) -> bytes:
    """Each row's prediction against its actual, with the diagonal of a perfect model."""
    truth, models = _models(truth, candidate, champion)
    figure = Figure(figsize=FIGSIZE, layout="constrained")
    axes = figure.add_subplot()
    rows = _shown(len(truth))
    values = np.concatenate([truth] + [prediction for prediction, _ in models])
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    axes.plot([low, high], [low, high], color="grey", linewidth=0.8, linestyle=":")
    for prediction, style in models:
        mae = float(np.mean(np.abs(prediction - truth))) if len(truth) else float("nan")
        axes.scatter(
            truth[rows],
            prediction[rows],
            s=POINT_SIZE,
            alpha=0.5,
            color=style["color"],
            label=f"{style['label']} (MAE {mae:.3g})",
        )
    axes.set(xlabel="actual", ylabel="predicted")
    axes.set_title("Predicted vs actual")
    axes.legend(loc="upper left")
    return figure_png(figure)


def residuals_png(truth, candidate, champion=None, bins: int = 30) -> bytes:
    """Residuals (predicted minus actual) against the prediction, and their histogram."""
    truth, models = _models(truth, candidate, champion)
    figure = Figure(figsize=(FIGSIZE[0] * 1.6, FIGSIZE[1]), layout="constrained")
    scatter, histogram = figure.subplots(1, 2)
    rows = _shown(len(truth))
    scatter.axhline(0, color="grey", linewidth=0.8, linestyle=":")
    for prediction, style in models:
        residual = prediction - truth
        scatter.scatter(
            prediction[rows], residual[rows], s=POINT_SIZE, alpha=0.5, color=style["color"]
        )
        bias = float(residual.mean()) if len(residual) else float("nan")
        histogram.hist(
            residual,
            bins=bins,
            histtype="step",
            color=style["color"],
            linestyle=style.get("linestyle", "-"),
            label=f"{style['label']} (mean {bias:+.3g})",
        )
    scatter.set(xlabel="predicted", ylabel="residual (predicted - actual)")
    scatter.set_title("Residuals")
    histogram.set(xlabel="residual", ylabel="rows")
    histogram.set_title("Residual distribution")
    histogram.legend(loc="upper right")
    return figure_png(figure)
