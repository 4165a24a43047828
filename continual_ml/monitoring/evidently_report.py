"""Data drift computed by Evidently: the HTML report people read, and the oracle the engine is
tested against."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.monitoring.drift_engine import DriftCheck, FeatureDrift


def _is_drifted(method: str, score: float, threshold: float) -> bool:
    # Evidently's statistical tests report a p-value (drift when small); the distances
    # (Wasserstein, Jensen-Shannon, PSI) report a distance (drift when large).
    if "p_value" in method:
        return score < threshold
    return score >= threshold


def prune_reports(folder: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest HTML reports in `folder` (named by day); the deleted.

    Evidently's reports are a few megabytes each, one a day, forever: the scores stay in DuckDB
    and the newest reports are what people open.
    """
    reports = sorted(folder.glob("*.html"), key=lambda path: path.stem)
    stale = reports[: max(0, len(reports) - keep)]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def compute_drift(
    config: DatasetConfig, reference: pd.DataFrame, current: pd.DataFrame, html_path: Path
) -> DriftCheck:
    """Run Evidently's data-drift preset on the features, save its HTML and return the scores."""
    # Imported here: Evidently takes seconds to import, and every Dagster run process loads the
    # code location, so only the step that renders a report should pay for it.
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    # A boolean is a two-valued category to Evidently, which has no column type of its own for it
    # (left to infer one, it refuses the column); as strings, missing values stay missing.
    labelled = [f.name for f in config.features if f.kind != "numeric"]
    definition = DataDefinition(
        numerical_columns=config.numeric_features, categorical_columns=labelled
    )
    columns = config.feature_names

    def typed(rows: pd.DataFrame) -> pd.DataFrame:
        return rows[columns].astype({name: "string" for name in labelled})

    # The report's headline "dataset drift" uses the policy's share, so the page and the retrain
    # decision agree (Evidently's own default is 0.5).
    preset = DataDriftPreset(columns=columns, drift_share=config.policy.drift_share_threshold)
    snapshot = Report([preset]).run(
        Dataset.from_pandas(typed(current), data_definition=definition),
        Dataset.from_pandas(typed(reference), data_definition=definition),
    )
    html_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html_path))
    features = []
    for metric in snapshot.dict()["metrics"]:
        settings = metric["config"]
        if not settings["type"].endswith(":ValueDrift"):
            continue
        score, threshold = float(metric["value"]), float(settings["threshold"])
        features.append(
            FeatureDrift(
                feature=settings["column"],
                method=settings["method"],
                threshold=threshold,
                score=score,
                drifted=_is_drifted(settings["method"], score, threshold),
            )
        )
    return DriftCheck(features=sorted(features, key=lambda f: columns.index(f.feature)))
