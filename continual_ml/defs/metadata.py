"""Metadata values shared by the assets: inline images and links the Dagster UI renders."""

import os

import dagster as dg

DAGSTER_UI = os.environ.get("CONTINUAL_ML_DAGSTER_UI_URL", "http://127.0.0.1:3000")


def png_markdown(name: str, png: bytes) -> dg.MetadataValue:
    """A PNG inline as markdown, which the UI shows in the asset's metadata."""
    # Imported on use: matplotlib would otherwise load in every run and sensor process.
    from continual_ml.evaluation_plots import png_markdown_text

    return dg.MetadataValue.md(png_markdown_text(name, png))


def run_url(run_id: str) -> str:
    return f"{DAGSTER_UI}/runs/{run_id}"
