"""What each model of an evaluation made of the holdout (the candidate, and the champion when
there is one): their outputs, their score rows, and the per-row table the gate pairs them on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from continual_ml.training.pipeline import load_model
from continual_ml.training.plots import write_pngs


@dataclass
class RoleEvaluation:
    """The candidate and the champion scored on one holdout; each task's evaluation says what
    it plots (`plots`)."""

    scores: pd.DataFrame  # one row per role and slice ("all" for the whole holdout)
    holdout: pd.DataFrame  # per-row truth and both models' outputs (`holdout_rows`), for the gate
    candidate_report: dict
    champion_report: dict | None

    def plots(self) -> dict[str, bytes]:
        raise NotImplementedError

    def drawn(self, column: str) -> tuple:
        """The truth and the candidate's and the champion's `column` (None without a
        champion) of the per-row table, as arrays: what the plots draw."""
        rows, with_champion = self.holdout, self.champion_report is not None
        champion = rows[f"champion_{column}"].to_numpy() if with_champion else None
        return rows["truth"].to_numpy(), rows[f"candidate_{column}"].to_numpy(), champion

    def save_plots(self, folder: Path) -> dict[str, Path]:
        """The plots as PNG files in `folder`, by name."""
        folder.mkdir(parents=True, exist_ok=True)
        return write_pngs(folder, self.plots())


def role_outputs(candidate: dict, champion: dict | None, output: Callable) -> dict:
    """`output(model)` by role, "candidate" first, then "champion" when there is one; each
    model loaded from its registry row only after its hash checks out."""
    roles = {"candidate": candidate} | ({"champion": champion} if champion is not None else {})
    return {role: output(load_model(row["artifact"], row["sha256"])) for role, row in roles.items()}


def role_scores(
    score_rows: Callable, outputs: dict, candidate: dict, champion: dict | None, truth, slices
) -> pd.DataFrame:
    """`score_rows(role, version, truth, output, slices)` of each role in one table, every row
    tagged with the candidate's version (the evaluation's key)."""
    versions = {"candidate": candidate["version"]}
    versions |= {"champion": champion["version"]} if champion is not None else {}
    rows = [
        row
        for role, output in outputs.items()
        for row in score_rows(role, versions[role], truth, output, slices)
    ]
    return pd.DataFrame(rows).assign(candidate_version=candidate["version"])


def holdout_rows(
    holdout: pd.DataFrame,
    truth,
    candidate: dict,
    champion: dict | None,
    outputs: dict,
    column: str,
) -> pd.DataFrame:
    """Per holdout row: its id, its truth, and each role's output in `{role}_{column}` (NaN
    for the champion when there is none), with the versions they came from."""
    return pd.DataFrame(
        {
            "candidate_version": candidate["version"],
            "row_id": holdout["row_id"].to_numpy(),
            "truth": truth,
            f"candidate_{column}": outputs["candidate"],
            "champion_version": champion["version"] if champion else None,
            f"champion_{column}": outputs.get("champion", np.nan),
        }
    )
