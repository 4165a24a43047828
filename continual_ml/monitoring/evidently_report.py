"""Data drift computed by Evidently: the HTML report people read, and the oracle the engine is
tested against."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.monitoring.drift_engine import DriftCheck, FeatureDrift


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


def evidently_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    method: str | None = None,
    drift_share: float | None = None,
    html_path: Path | None = None,
) -> DriftCheck:
    """Evidently's data-drift preset on the columns, with Evidently's own verdicts (its tests).

    The one adapter to Evidently: the report people read and the oracle the engine is tested
    against both come from here, so they cannot judge drift by different rules.
    """
    # Imported here: Evidently takes seconds to import, and every Dagster run process loads the
    # code location, so only the step that renders a report should pay for it.
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = [c for c in reference.columns if c in {*numeric, *categorical}]
    definition = DataDefinition(
        numerical_columns=list(numeric), categorical_columns=list(categorical)
    )
    options = {"drift_share": drift_share} if drift_share is not None else {}
    preset = DataDriftPreset(columns=columns, method=method, **options)
    with warnings.catch_warnings():
        # Evidently divides by zero on constant columns and new categories, by design
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = Report([preset], include_tests=True).run(
            Dataset.from_pandas(current[columns], data_definition=definition),
            Dataset.from_pandas(reference[columns], data_definition=definition),
        )
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(html_path))
    result = snapshot.dict()
    settings = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            settings[config["column"]] = (config["method"], config["threshold"], metric["value"])
    verdicts = {}
    for test in result["tests"]:
        params = test["metric_config"]["params"]
        if params["type"].endswith(":ValueDrift"):
            verdicts[params["column"]] = test["status"] == "FAIL"
    return DriftCheck(
        features=[
            FeatureDrift(
                c, settings[c][0], float(settings[c][1]), float(settings[c][2]), verdicts[c]
            )
            for c in columns
        ]
    )


def compute_drift(
    config: DatasetConfig, reference: pd.DataFrame, current: pd.DataFrame, html_path: Path
) -> DriftCheck:
    """Evidently's drift report on the dataset's features, saved as HTML; the scores."""
    # A boolean is a two-valued category to Evidently, which has no column type of its own for it
    # (left to infer one, it refuses the column); as strings, missing values stay missing.
    labelled = [f.name for f in config.features if f.kind != "numeric"]
    columns = config.feature_names

    def typed(rows: pd.DataFrame) -> pd.DataFrame:
        return rows[columns].astype({name: "string" for name in labelled})

    # The report's headline "dataset drift" uses the policy's share, so the page and the retrain
    # decision agree (Evidently's own default is 0.5).
    return evidently_drift(
        typed(reference),
        typed(current),
        config.numeric_features,
        labelled,
        drift_share=config.policy.drift_share_threshold,
        html_path=html_path,
    )
