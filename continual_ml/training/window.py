"""What a candidate learns from and is judged on: the labelled days up to its partition."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.ingestion.partition_checks import failed_partitions
from continual_ml.training.episode_window import choose_since_shift
from continual_ml.training.pipeline import WindowSplit, data_sha256, split_window
from continual_ml.training.window_selection import (
    CandidateScore,
    WindowChoice,
    choose_window,
)
from continual_ml.warehouse import registry
from continual_ml.warehouse.labelled_rows import labelled_rows
from continual_ml.warehouse.training_params import recent_params

if TYPE_CHECKING:  # a hint only: loading the definitions must not import scikit-learn
    from sklearn.pipeline import Pipeline

# Hyperparameters worth a column in MLflow and the registry, for the families that have them.
TRACKED_HYPERPARAMETERS = (
    "C",
    "max_depth",
    "min_samples_leaf",
    "learning_rate",
    "max_leaf_nodes",
    "num_leaves",
)


class NoLabelledRows(ValueError):
    """The training window holds no labelled observation to learn from."""


def training_window(config: DatasetConfig, end: date) -> tuple[date, date]:
    """The first and last day of the shortest candidate window for partition `end`.

    >>> from continual_ml.config import default_config
    >>> training_window(default_config(), date(2026, 1, 10))
    (datetime.date(2026, 1, 8), datetime.date(2026, 1, 10))
    """
    return end - timedelta(days=config.model.training_window_days - 1), end


def usable_labelled_rows(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, start: date, end: date
) -> pd.DataFrame:
    """Labelled observations of [start, end] with their newest label, failed partitions left out."""
    # Observations with their newest label, late labels included; unlabelled rows are left out.
    rows = labelled_rows(conn, config, start, end)
    # A partition that failed observations_are_valid never reaches training.
    failed = pd.to_datetime(failed_partitions(conn, start, end))
    rows = rows[~pd.to_datetime(rows["partition_date"]).isin(failed)]
    return rows[rows[config.label].notna()]


def select_window(
    conn: duckdb.DuckDBPyConnection, config: DatasetConfig, end: date
) -> WindowChoice:
    """The window a candidate for partition `end` trains on (see `window_selection`)."""
    settings = config.model.training_window
    [first, *others] = settings.candidates_days
    if not others and first != "all" and settings.min_rows == 0:
        # One fixed length: nothing to read before the window itself.
        start, _ = training_window(config, end)
        name = f"{settings.candidates_days[0]}d"
        only = (CandidateScore(name, start, None),)
        return WindowChoice(
            name, start, end, config.policy.gate_metric, "one window to choose from", only
        )
    rows = usable_labelled_rows(conn, config, HISTORY_START, end)
    if rows.empty:
        raise NoLabelledRows(f"no labelled observations up to {end}")
    return choose_window(config, rows, end)


def window_since(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    onset: date,
    end: date,
    concept_moved: bool = False,
) -> WindowChoice:
    """The window of a shift episode's candidate: the rows since `onset`, or a longer window if
    the rows since it say so (`episode_window`), as the episode last chose it while the days
    since the onset have not doubled; since `onset` outright if the concept moved."""
    rows = usable_labelled_rows(conn, config, HISTORY_START, end)
    if rows.empty:
        raise NoLabelledRows(f"no labelled observations up to {end}")
    earlier, moved = _episode_choice(conn, onset)
    return choose_since_shift(config, rows, onset, end, earlier, concept_moved or moved)


def _episode_choice(
    conn: duckdb.DuckDBPyConnection, onset: date
) -> tuple[tuple[str, date] | None, bool]:
    """The window the episode that began on `onset` last validated, and up to which partition;
    and whether a fall of accuracy opened it (its retrains then train since the shift)."""
    for params in recent_params(conn):
        if params.get("shift_onset") == str(onset) and params.get("window_validated_through"):
            through = date.fromisoformat(params["window_validated_through"])
            moved = params.get("window_concept_moved") == "true"
            return (params["training_window"], through), moved
    return None, False


# Before any partition: `all` reaches back to the oldest labelled row.
HISTORY_START = date(1970, 1, 1)


def window_split(
    conn: duckdb.DuckDBPyConnection,
    config: DatasetConfig,
    start: date,
    end: date,
    min_holdout_rows: int | None = None,
) -> WindowSplit:
    """The window's labelled rows, split into training rows and the holdout the gate uses.

    `min_holdout_rows` overrides the config's: a shift episode's candidate holds out only its
    share of the newest day, so that most of the few changed rows are learnt from."""
    rows = usable_labelled_rows(conn, config, start, end)
    if rows.empty:
        raise NoLabelledRows(f"no labelled observations in the training window {start} .. {end}")
    champion = registry.current_champion(conn)
    # The champion's own training days are never in the holdout the two are compared on.
    unseen_from = champion["training_end"] + timedelta(days=1) if champion else None
    least = config.model.min_holdout_rows if min_holdout_rows is None else min_holdout_rows
    return split_window(rows, config.model.holdout_fraction, least, unseen_from)


def training_params(
    config: DatasetConfig, model: Pipeline, train: pd.DataFrame, choice: WindowChoice
) -> dict:
    """What a trained candidate is recorded with: its window, its data's hash, its settings."""
    hyperparameters = model.named_steps["classifier"].get_params()
    return {
        "family": config.model.family,
        "training_start": str(choice.start),
        "training_end": str(choice.end),
        "training_window": choice.chosen,
        "training_window_candidates": ",".join(c.name for c in choice.candidates),
        "n_train": len(train),
        # the newest day it learnt labelled rows of: with labels late, the days after it were
        # unseen by it though inside its window (shadow evidence counts them)
        "labelled_through": str(pd.to_datetime(train["partition_date"]).max().date())
        if len(train)
        else str(choice.end),
        "data_sha256": data_sha256(train),
        "holdout_fraction": config.model.holdout_fraction,
        "random_state": config.model.random_state,
        "search": config.model.search,
        **(
            {
                "shift_onset": str(choice.shift_onset),
                "window_validated_through": str(choice.validated_through or ""),
                "window_concept_moved": str(choice.concept_moved).lower(),
            }
            if choice.shift_onset
            else {}
        ),
        **{k: str(v) for k, v in hyperparameters.items() if k in TRACKED_HYPERPARAMETERS},
    }
