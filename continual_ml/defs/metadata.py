"""Metadata values shared by the assets: inline images and links the Dagster UI renders."""

import dagster as dg

from continual_ml.settings import Settings


def png_markdown(name: str, png: bytes) -> dg.MetadataValue:
    """A PNG inline as markdown, which the UI shows in the asset's metadata."""
    # Imported on use: matplotlib would otherwise load in every run and sensor process.
    from continual_ml.training.plots import png_markdown_text

    return dg.MetadataValue.md(png_markdown_text(name, png))


def run_url(run_id: str) -> str:
    # Read on use, not at import: `up` and `dagster-dev` set it after this module may be loaded.
    ui = Settings.from_env().dagster_ui_url.rstrip("/")
    return f"{ui}/runs/{run_id}"


def run_links(run_id: str, experiment_id: str) -> dict:
    """The MLflow run's page, as metadata the UI links to."""
    return {
        "mlflow_run": dg.MetadataValue.url(
            f"{Settings.from_env().mlflow_ui_url}/#/experiments/{experiment_id}/runs/{run_id}"
        )
    }
