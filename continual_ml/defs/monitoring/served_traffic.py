"""Each model version on the traffic it really served, recorded when its logs are landed."""

import dagster as dg

from continual_ml.monitoring.served_traffic import served_performance

served_model_performance = dg.AssetSpec(
    "served_model_performance",
    group_name="monitoring",
    kinds={"duckdb"},
    description="Each model version on the traffic it served: volume, latency, realized accuracy "
    "(for a regression, realized MAE and RMSE).",
)


def served_performance_event(conn, regression: bool = False) -> dg.AssetMaterialization:
    """Recorded by each prediction-log ingestion, so the UI charts it over time."""
    by_version = served_performance(conn, regression)
    metadata = {
        "by_model_version": dg.MetadataValue.md(
            by_version.to_markdown(index=False, floatfmt=".4f") if len(by_version) else "none"
        )
    }
    if len(by_version):
        newest = by_version.iloc[0]
        metadata |= {
            "model_version": int(newest["model_version"]),
            "n_predictions": int(newest["n_predictions"]),
            "n_labelled": int(newest["n_labelled"]),
            "latency_p99_ms": float(newest["latency_p99_ms"]),
        }
        if newest["n_labelled"]:
            for name in ("realized_mae", "realized_rmse") if regression else ("realized_accuracy",):
                metadata[name] = float(newest[name])
    return dg.AssetMaterialization(asset_key=served_model_performance.key, metadata=metadata)
