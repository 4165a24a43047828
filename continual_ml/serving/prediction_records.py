"""The prediction log's records for rows scored by the service, and the counts by class.

Each record is what `/predict` logs and what its client is answered a part of
(`request_schema.answer_of`): a classifier's holds the predicted class and the probabilities, a
regression champion's the predicted number, under `prediction`.
"""

from __future__ import annotations

import os

# Prometheus' `predicted_class` label of a regression champion's predictions: it has no classes.
NUMBER_LABEL = "number"


def prediction_records(
    version: int, served_at: str, features: list[dict], outputs: list[dict]
) -> tuple[list[dict], dict]:
    """Each row's log record, and how many rows each class was predicted for."""
    records, class_counts = [], {}
    if outputs and "prediction" in outputs[0]:  # a regression champion's numbers
        for row, output in zip(features, outputs, strict=True):
            records.append(
                {
                    "kind": "prediction",
                    "prediction_id": os.urandom(16).hex(),
                    "model_version": version,
                    "prediction": output["prediction"],
                    "interval": output["interval"],
                    "served_at": served_at,
                    "latency_ms": output["latency_ms"],
                    "features": row,
                }
            )
        return records, {NUMBER_LABEL: len(records)}
    for row, output in zip(features, outputs, strict=True):
        predicted_class = output["predicted_class"]
        class_counts[predicted_class] = class_counts.get(predicted_class, 0) + 1
        records.append(
            {
                "kind": "prediction",
                "prediction_id": os.urandom(16).hex(),
                "model_version": version,
                "predicted_class": predicted_class,
                "probabilities": output["probabilities"],
                "served_at": served_at,
                "latency_ms": output["latency_ms"],
                "features": row,
            }
        )
    return records, class_counts
