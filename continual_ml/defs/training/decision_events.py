"""What a `champion_model` event and its alert say about each decision of the gate."""

import math

# What each decision tells people: alert kind, title, and what happened or who acts next.
DECISION_ALERTS = {
    "promoted": ("model_promoted", "promoted", "promoted v{version}"),
    "pending_approval": (
        "approval_needed",
        "waits for approval",
        "waits for a person: continual-ml approve {version}",
    ),
    "challenger": (
        "model_rejected",
        "refused for now: not yet shown better, stays a challenger",
        "v{champion} stays champion; v{version} is scored in shadow on each labelled day",
    ),
    "rejected": ("model_rejected", "refused by the gate", "v{champion} stays champion"),
}


def champion_metadata(
    champion_version: int | None,
    candidate: dict,
    decision: str,
    reason: str,
    open_challenger: dict | None = None,
    champion_training: dict | None = None,
):
    """What a `champion_model` event says; the retraining sensor reads `decision` and
    `promoted_accuracy` (the score of `candidate`, a registry row; for a number
    `promoted_mae` and `promoted_mse`), the shadow sensor
    `open_challenger` (the challenger scored in shadow after this decision, or "none"), and
    what the champion in charge was trained on (`training_params.training_record`): the
    policy's growth rule counts the rows since `champion_training_end` against
    `champion_n_train`, when `champion_training_window` was all history (`data_growth`)."""
    # null when the holdout had no rows (NaN in a registry row written before metrics were safe)
    accuracy = candidate["metrics"].get("accuracy")
    accuracy = accuracy if accuracy is not None and math.isfinite(accuracy) else None
    return {
        "champion_version": champion_version if champion_version is not None else "none",
        "candidate_version": candidate["version"],
        "decision": decision,
        "reason": reason,
        **({"promoted_accuracy": float(accuracy)} if accuracy is not None else {}),
        **promoted_errors(candidate["metrics"]),
        **({"promoted_rows": int(rows)} if (rows := candidate["metrics"].get("n")) else {}),
        "open_challenger": open_challenger["version"] if open_challenger else "none",
        **_training(champion_training),
        "open_challenger_partition": (
            str(open_challenger["partition_date"]) if open_challenger else "none"
        ),
    }


def _training(training: dict | None) -> dict:
    if training is None:
        return {"champion_training_start": "none"}
    return {
        "champion_training_start": str(training["start"]),
        "champion_training_end": str(training["end"]),
        "champion_n_train": int(training["rows"]),
        "champion_training_window": training["window"] or "none",
    }


def promoted_errors(metrics: dict) -> dict:
    """A regression candidate's holdout MAE and MSE, as the retraining policy reads its daily
    error (`RetrainPolicy.error_metric`); none for a classifier or a holdout with no rows."""
    mae, rmse = metrics.get("mae"), metrics.get("rmse")
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (mae, rmse)):
        return {}
    return {"promoted_mae": float(mae), "promoted_mse": float(rmse) ** 2}
