"""The steps of a replay that do not depend on the task (`benchmarks.learning.replay` for
classification, `benchmarks.learning.regression_replay` for regression).

A fresh home holds the dataset's history days as `history.csv`; `continual-ml` commands run in
this process against it; then each later day every strategy predicts the day's rows with the
model it holds before any of them is labelled (prequential), the day's file lands without
labels and is monitored, the labels of the day `label_delay` days earlier land as a label file,
and the deciding sensors are ticked and their runs executed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import pandas as pd

from benchmarks.learning.arms import Baselines, FitCounter


@dataclass(frozen=True)
class DaySplit:
    """The dataset's rows (with a `day` column), its history days and the days replayed."""

    rows: pd.DataFrame
    history_days: list
    replayed: list

    def settings(self, label: str, label_delay: int, shifts) -> dict:
        return {
            "label": label,
            "history_days": len(self.history_days),
            "history_rows": int(self.rows["day"].isin(self.history_days).sum()),
            "days_replayed": len(self.replayed),
            "label_delay_days": label_delay,
            "shift_days": [i for i in shifts if i < len(self.replayed)],
        }

    def source_rows(self) -> int:
        return int(self.rows["day"].isin([*self.history_days, *self.replayed]).sum())


def fresh_home(spec, folder: Path, max_days: int | None) -> DaySplit:
    """`spec`'s rows split into history and replayed days, the history written to
    `folder/history.csv`, and this process pointed at a new home in `folder`."""
    rows = spec.build()
    rows["day"] = rows["event_time"].dt.date
    days = sorted(rows["day"].unique())
    history_days, replayed = days[: spec.history_days], days[spec.history_days :]
    replayed = replayed[:max_days] if max_days else replayed
    folder.mkdir(parents=True, exist_ok=True)
    history = rows[rows["day"].isin(history_days)].drop(columns="day")
    history.to_csv(folder / "history.csv", index=False)
    os.environ["CONTINUAL_ML_HOME"] = str(folder / "home")
    os.environ["CONTINUAL_ML_CONFIG"] = str(folder / "dataset.yaml")
    os.environ["CONTINUAL_ML_LANDING_DIR"] = str(folder / "landing")
    return DaySplit(rows, history_days, replayed)


def continual_ml(*argv: str) -> None:
    """Run a `continual-ml` command in this process; raise if it fails."""
    from continual_ml.app import cli

    if cli.main(list(argv)) != 0:
        raise RuntimeError(f"continual-ml {' '.join(argv)} failed")


@dataclass(frozen=True)
class NewUser:
    """A dataset's home once the first commands ran, and what they cost."""

    split: DaySplit
    counter: FitCounter
    started: float
    bootstrap_seconds: float
    bootstrap_fits: int
    drafted: str  # the YAML `init --from` drafted
    hand_fix: list[str]  # what the user changed in the draft by hand, in words

    def accounting(self) -> dict:
        """Fits per strategy, seconds, and the rows the replay read."""
        return {
            "fits": {**self.counter.fits, "bootstrap": self.bootstrap_fits},
            "seconds": {
                "bootstrap": round(self.bootstrap_seconds, 1),
                "total": _since(self.started),
            },
            "source_rows": self.split.source_rows(),
        }


def bootstrapped(
    spec, folder: Path, max_days: int | None, fix_draft: Callable | None = None
) -> NewUser:
    """A fresh home for `spec` in `folder`, as a new user starts one: `init --from` the history
    (then `fix_draft(path, label)`, a hand fix, if given), `init`, `ingest`, `bootstrap`."""
    counter = FitCounter().install()
    split = fresh_home(spec, folder, max_days)
    history, draft = folder / "history.csv", folder / "dataset.yaml"
    started = perf_counter()
    continual_ml("init", "--from", str(history), "--out", str(draft))
    drafted = draft.read_text()
    hand_fix = fix_draft(draft, spec.label) if fix_draft else []
    for argv in (["init"], ["ingest", str(history)], ["bootstrap"]):
        continual_ml(*argv)
    bootstrap_seconds = perf_counter() - started
    return NewUser(
        split, counter, started, bootstrap_seconds, counter.fits["loop"], drafted, hand_fix
    )


def replay_days(
    loop,
    user: NewUser,
    spec,
    label_delay: int,
    folder: Path,
    score: Callable[[dict, pd.DataFrame, int], dict],
) -> list[dict]:
    """The per-day record, `loop` a `LoopDriver` on the user's home. `score(models, today,
    champion_version)` says what each strategy's model made of the day (`today` with its
    labels), before any of the day lands."""
    split = user.split
    rows, replayed, label = split.rows, split.replayed, spec.label
    baselines = Baselines(loop.config, rows, split.history_days, user.counter)
    first_version, static_first = loop.champion()
    landing = folder / "landing"
    (landing / "labels").mkdir(parents=True, exist_ok=True)
    known = list(split.history_days)  # the days whose labels have landed
    kept = None  # (version, model): the champion in charge when the latest shift began
    record = []
    for index, day in enumerate(replayed):
        partition = str(day)
        today = rows[rows["day"] == day].drop(columns="day")
        version, served = loop.champion()
        if index in spec.shifts:
            kept = (version, served)
        models = {
            "loop": served,
            "static_first": static_first,
            "static_all": baselines.static_all,
            "daily": baselines.daily_for(known),
        }
        if kept is not None:
            models["kept"] = kept[1]
        scored = score(models, today, version)
        landed = landing / f"{partition}.csv"
        today.drop(columns=label).to_csv(landed, index=False)
        drift_share = loop.monitor(partition, landed)
        labelled_day = replayed[index - label_delay] if index >= label_delay else None
        if labelled_day is not None:
            labels = landing / "labels" / f"{labelled_day}.csv"
            late = rows[rows["day"] == labelled_day]
            late[[loop.config.id_column, label]].to_csv(labels, index=False)
            loop.land_labels(labels)
            known.append(labelled_day)
        record.append(
            {
                "day": partition,
                "rows": len(today),
                "champion": version,
                "first_champion": first_version,
                "kept_champion": kept[0] if kept else None,
                "drift_share": round(drift_share, 4),
                **loop.day_details(partition),
                "daily_retrained": baselines.refitted,
                "labels_landed_for": str(labelled_day) if labelled_day else None,
                **scored,
                "runs": loop.decide(),
            }
        )
    return record


def warehouse_counts(conn) -> dict:
    """Rows the warehouse holds and rows it quarantined."""
    count = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "observations": count("SELECT count(*) FROM observations"),
        "quarantined_rows": count(
            "SELECT count(*) FROM quarantined_rows WHERE kind = 'observations'"
        ),
    }


def _since(started: float) -> float:
    return round(perf_counter() - started, 1)
