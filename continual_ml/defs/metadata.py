"""Metadata values shared by the assets: inline images and links the Dagster UI renders.

The links themselves (`run_url`, `asset_partition_url`, `retrain_links`, ...) are built in
`continual_ml.alerts.links` from the public base URLs of the settings, and re-exported here.
"""

import dagster as dg

from continual_ml.alerts.links import (
    asset_partition_url,
    mlflow_artifact_url,
    mlflow_run_url,
    retrain_links,
    run_url,
)

__all__ = [
    "asset_partition_url",
    "mlflow_artifact_url",
    "mlflow_run_url",
    "png_markdown",
    "retrain_links",
    "run_links",
    "run_url",
]


def png_markdown(name: str, png: bytes) -> dg.MetadataValue:
    """A PNG inline as markdown, which the UI shows in the asset's metadata."""
    # Imported on use: matplotlib would otherwise load in every run and sensor process.
    from continual_ml.training.plots import png_markdown_text

    return dg.MetadataValue.md(png_markdown_text(name, png))


def run_links(run_id: str, experiment_id: str) -> dict:
    """The MLflow run's page, as metadata the UI links to."""
    return {"mlflow_run": dg.MetadataValue.url(mlflow_run_url(experiment_id, run_id))}
