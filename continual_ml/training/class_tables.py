"""A multiclass report's per-class scores and confusion matrix as markdown tables.

The Dagster UI renders them in `evaluation_scores`' metadata. An undefined score shows as
``n/a`` with the reason under the table, never as ``nan``.
"""

from __future__ import annotations

import math


def per_class_markdown(reports: dict[str, dict]) -> str:
    """One row per class and role (``candidate``, ``champion``): precision, recall, F1, support.

    Examples
    --------
    >>> report = {"per_class": [
    ...     {"class": "a", "precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2},
    ...     {"class": "b", "precision": float("nan"), "recall": 0.0, "f1": 0.0, "support": 1,
    ...      "undefined": {"precision": "no row was predicted as this class"}},
    ... ]}
    >>> print(per_class_markdown({"candidate": report}))
    | class | role | precision | recall | f1 | support |
    |---|---|---|---|---|---|
    | a | candidate | 1.0000 | 0.5000 | 0.6670 | 2 |
    | b | candidate | n/a | 0.0000 | 0.0000 | 1 |
    <BLANKLINE>
    n/a: b (candidate) precision: no row was predicted as this class
    """
    lines = [
        "| class | role | precision | recall | f1 | support |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    classes = [entry["class"] for entry in next(iter(reports.values()))["per_class"]]
    for position, label in enumerate(classes):
        for role, report in reports.items():
            entry = report["per_class"][position]
            cells = [_cell(entry[k]) for k in ("precision", "recall", "f1")]
            lines.append(f"| {label} | {role} | {' | '.join(cells)} | {entry['support']} |")
            notes += [
                f"{label} ({role}) {name}: {why}"
                for name, why in entry.get("undefined", {}).items()
            ]
    return "\n".join(lines + ([""] + ["n/a: " + "; ".join(notes)] if notes else []))


def confusion_matrix_markdown(matrix: list[list[int]], classes) -> str:
    """Rows of true classes, columns of predicted ones.

    Examples
    --------
    >>> print(confusion_matrix_markdown([[3, 1], [0, 2]], ["low", "high"]))
    | true \\ predicted | low | high |
    |---|---|---|
    | low | 3 | 1 |
    | high | 0 | 2 |
    """
    header = "| true \\ predicted | " + " | ".join(str(c) for c in classes) + " |"
    rule = "|---" * (len(classes) + 1) + "|"
    rows = [
        f"| {label} | " + " | ".join(str(int(n)) for n in row) + " |"
        for label, row in zip(classes, matrix, strict=True)
    ]
    return "\n".join([header, rule, *rows])


def _cell(value) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4f}"
