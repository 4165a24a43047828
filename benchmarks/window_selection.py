"""Which training window the rule picks on the public datasets, and what the first champion
scores with it: a static model trained once on the history, scored day by day on the rest
(prequential accuracy, row-weighted), with the window `init --from` drafted before issue 25
(7 days) and with the one `choose_window` picks among the drafted candidates.

Two histories per dataset: the user-datasets benchmark's (`HISTORY_DAYS` days) and a long one
(the first half of the days). Writes `benchmarks/results/window_selection.json`.

    flock /tmp/cpu.lock python -m benchmarks.window_selection
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.stamp import stamp
from benchmarks.user_datasets import DATASETS, HISTORY_DAYS

RESULTS = Path(__file__).parent / "results" / "window_selection.json"
COMMAND = "python -m benchmarks.window_selection"  # run under `flock /tmp/cpu.lock`
NAMES = ("book", "image_segments", "solar_flares")
BEFORE_DAYS = 7  # what `init --from` drafted before issue 25: `training_window_days: 7`


def drafted_config(history: pd.DataFrame, folder: Path):
    from continual_ml.app.config_draft import draft_config
    from continual_ml.config import DatasetConfig

    path = folder / "history.csv"
    history.to_csv(path, index=False)
    return DatasetConfig.model_validate(draft_config(path).config)


def as_rows(frame: pd.DataFrame, config) -> pd.DataFrame:
    rows = frame.rename(
        columns={config.id_column: "row_id", config.event_time_column: "event_time"}
    )
    rows["partition_date"] = pd.to_datetime(rows["event_time"]).dt.date
    return rows


def prequential(model, config, rows: pd.DataFrame) -> float:
    """Row-weighted accuracy over the replayed days (a static model: one mean)."""
    from continual_ml.training.class_probabilities import class_proba

    proba = class_proba(model, config, rows)
    predicted = np.asarray(config.classes, dtype=object)[proba.argmax(axis=1)]
    truth = rows[config.label].to_numpy(dtype=object)
    if not isinstance(config.classes[0], str):
        truth = truth.astype(int)
        predicted = predicted.astype(int)
    return float((predicted == truth).mean())


def measure(name: str, history_days: int, folder: Path) -> dict:
    from continual_ml.training.pipeline import fit_candidate
    from continual_ml.training.window_selection import choose_window

    build, _, shift = DATASETS[name]
    frame = build()
    days = sorted(pd.to_datetime(frame["event_time"]).dt.date.unique())
    cut = days[history_days]
    history_frame = frame[pd.to_datetime(frame["event_time"]).dt.date < cut]
    config = drafted_config(history_frame, folder)
    rows = as_rows(frame, config)
    history, replay = rows[rows["partition_date"] < cut], rows[rows["partition_date"] >= cut]
    end = history["partition_date"].max()
    choice = choose_window(config, history, end)
    before_start = end - timedelta(days=BEFORE_DAYS - 1)
    models = {
        "before_7_days": fit_candidate(config, history[history["partition_date"] >= before_start]),
        "after_chosen": fit_candidate(config, history[history["partition_date"] >= choice.start]),
        "all_history": fit_candidate(config, history),
    }
    result = {
        "history_days": history_days,
        "history_rows": len(history),
        "replayed_days": len(days) - history_days,
        "replayed_rows": len(replay),
        "candidates": config.model.training_window.model_dump(mode="json"),
        "chosen": choice.chosen,
        "chosen_start": str(choice.start),
        "reason": choice.reason,
        "validation_scores": {k: round(v, 4) for k, v in choice.scores().items()},
        "prequential_accuracy": {
            k: round(prequential(m, config, replay), 4) for k, m in models.items()
        },
    }
    if shift is not None and history_days == HISTORY_DAYS:
        after = replay[replay["partition_date"] >= days[history_days + shift]]
        result["prequential_accuracy_after_shift"] = {
            k: round(prequential(m, config, after), 4) for k, m in models.items()
        }
    return result


def main() -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = {"command": COMMAND, "stamp": stamp(), "datasets": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for name in NAMES:
            n_days = len(pd.to_datetime(DATASETS[name][0]()["event_time"]).dt.date.unique())
            runs = {}
            for label, history_days in (("benchmark", HISTORY_DAYS), ("long", n_days // 2)):
                runs[label] = measure(name, history_days, Path(scratch))
                print(name, label, json.dumps(runs[label]))
            results["datasets"][name] = runs
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
