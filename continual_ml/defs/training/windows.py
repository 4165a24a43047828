"""The candidate's training window in Dagster: chosen, split, and shown in the asset's metadata."""

from datetime import date

import dagster as dg
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.decisions.retrain_policy import CAUSES_TAG, CONCEPT_MOVED
from continual_ml.decisions.shift_episode import ONSET_TAG
from continual_ml.defs.data.assets import partition_day
from continual_ml.training import window


def chosen_window(conn, config: DatasetConfig, context: dg.AssetExecutionContext):
    """The window the candidate trains on, and its rows split into training rows and holdout:
    for a run of a shift episode (tagged with its onset) the rows since the onset or a longer
    window, chosen on the rows since it (`episode_window`), or the rows since it outright when a
    fall of realized accuracy opened the episode; else the validated choice among the
    configured lengths."""
    day = partition_day(context)
    onset = context.run.tags.get(ONSET_TAG)
    try:
        if onset is not None:
            causes = context.run.tags.get(CAUSES_TAG, "").split(",")
            start = date.fromisoformat(onset)
            choice = window.window_since(conn, config, start, day, CONCEPT_MOVED in causes)
            return choice, window.window_split(conn, config, choice.start, day, 0)
        choice = window.select_window(conn, config, day)
        return choice, window.window_split(conn, config, choice.start, choice.end)
    except window.NoLabelledRows as error:
        raise dg.Failure(str(error)) from error


def window_metadata(choice: window.WindowChoice) -> dict:
    """The choice among the candidate windows, for the asset's metadata."""
    table = pd.DataFrame(
        [
            {
                "candidate": c.name,
                "start": str(c.start),
                "rows": c.n_rows,
                "validation_train_rows": c.n_validation_train,
                choice.metric: c.score,
            }
            for c in choice.candidates
        ]
    )
    block = choice.validation
    validated_on = f"{block[0]} .. {block[1]} ({block[2]} rows)" if block else "none"
    return {
        "training_window_choice": choice.chosen,
        "training_window_reason": choice.reason,
        "training_window_candidates": dg.MetadataValue.md(
            table.to_markdown(index=False, floatfmt=".4f")
        ),
        "window_validation_block": validated_on,
        **{f"window_score/{name}": float(score) for name, score in choice.scores().items()},
    }
