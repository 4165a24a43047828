"""Evaluation plots as PNG bytes: ROC curve, reliability diagram, confusion matrices.

Each plot compares the candidate with the champion when a champion is given. Figures are drawn
on matplotlib's Agg canvas directly (no pyplot), so nothing needs a display and no global
figure state is shared between threads.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from continual_ml.training.classification_metrics import (
    as_binary_arrays,
    calibration_bins,
    expected_calibration_error,
)

FIGSIZE = (5.0, 4.0)
DPI = 80
CANDIDATE_STYLE = {"color": "tab:blue", "label": "candidate"}
CHAMPION_STYLE = {"color": "tab:orange", "label": "champion", "linestyle": "--"}


def figure_png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def models_to_draw(
    truth, candidate, champion, arrays=as_binary_arrays
) -> tuple[np.ndarray, list[tuple]]:
    """The validated truth and one (values, line style) pair per model to draw; `arrays`
    validates a truth and a model's values (binary labels and probabilities by default)."""
    truth, candidate = arrays(truth, candidate)
    models = [(candidate, CANDIDATE_STYLE)]
    if champion is not None:
        models.append((arrays(truth, champion)[1], CHAMPION_STYLE))
    return truth, models


def roc_curve_png(truth, candidate_proba, champion_proba=None) -> bytes:
    """ROC curves with their AUC; with one class present the curve is undefined and says so."""
    truth, models = models_to_draw(truth, candidate_proba, champion_proba)
    figure = Figure(figsize=FIGSIZE, layout="constrained")
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    if len(np.unique(truth)) == 2:
        for proba, style in models:
            false_positive_rate, true_positive_rate, _ = roc_curve(truth, proba)
            auc = roc_auc_score(truth, proba)
            label = f"{style['label']} (AUC {auc:.3f})"
            axes.plot(false_positive_rate, true_positive_rate, **{**style, "label": label})
        axes.legend(loc="lower right")
    else:
        axes.text(0.5, 0.5, "ROC undefined: one class only", ha="center", va="center")
    axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="false positive rate", ylabel="true positive rate")
    axes.set_title("ROC curve")
    return figure_png(figure)


def reliability_diagram_png(truth, candidate_proba, champion_proba=None, n_bins: int = 10) -> bytes:
    """Observed positive rate against mean predicted probability per equal-width bin."""
    truth, models = models_to_draw(truth, candidate_proba, champion_proba)
    figure = Figure(figsize=FIGSIZE, layout="constrained")
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":", label="calibrated")
    for proba, style in models:
        bins = calibration_bins(truth, proba, n_bins)
        ece = expected_calibration_error(truth, proba, n_bins)
        label = f"{style['label']} (ECE {ece:.3f})"
        axes.plot(bins.mean_predicted, bins.observed_rate, marker="o", **{**style, "label": label})
    axes.set(xlim=(0, 1), ylim=(-0.02, 1.02), xlabel="mean predicted probability")
    axes.set_ylabel("observed rate")
    axes.set_title(f"Reliability ({n_bins} bins)")
    axes.legend(loc="upper left")
    return figure_png(figure)


def confusion_matrix_png(truth, candidate_proba, champion_proba=None, threshold=0.5) -> bytes:
    """Confusion-matrix heatmaps side by side, on one colour scale so they compare."""
    truth, models = models_to_draw(truth, candidate_proba, champion_proba)
    matrices = [
        confusion_matrix(truth, (proba >= threshold).astype(int), labels=[0, 1])
        for proba, _ in models
    ]
    return _confusion_panels(matrices, [style for _, style in models], [0, 1], None)


def class_confusion_matrix_png(matrices: list, classes) -> bytes:
    """Multiclass confusion matrices (candidate, then champion if given), classes as labels."""
    styles = [CANDIDATE_STYLE, CHAMPION_STYLE][: len(matrices)]
    ticks = list(range(len(classes)))
    return _confusion_panels(
        [np.asarray(m) for m in matrices], styles, ticks, [str(c) for c in classes]
    )


def _confusion_panels(matrices, styles, ticks, tick_labels) -> bytes:
    width = FIGSIZE[0] * (1 if len(matrices) == 1 else 1.6)
    figure = Figure(figsize=(width, FIGSIZE[1]), layout="constrained")
    panels = figure.subplots(1, len(matrices), squeeze=False)[0]
    top = max(1, max(int(matrix.max()) for matrix in matrices))
    for axes, matrix, style in zip(panels, matrices, styles, strict=True):
        image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=top)
        for (row, column), count in np.ndenumerate(matrix):
            colour = "white" if count > top / 2 else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=colour)
        axes.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="actual")
        if tick_labels is not None:
            axes.set_xticklabels(tick_labels)
            axes.set_yticklabels(tick_labels)
        axes.set_title(style["label"])
    figure.colorbar(image, ax=list(panels), shrink=0.8)
    return figure_png(figure)


def png_markdown_text(name: str, png: bytes) -> str:
    """A PNG inline as markdown (a data URI), which the Dagster UI renders in metadata."""
    return f"![{name}](data:image/png;base64,{base64.b64encode(png).decode()})"


def write_pngs(folder: Path, plots: dict[str, bytes]) -> dict[str, Path]:
    """Each plot written to `folder/<name>.png`; the paths by name."""
    paths = {}
    for name, png in plots.items():
        paths[name] = folder / f"{name}.png"
        paths[name].write_bytes(png)
    return paths
