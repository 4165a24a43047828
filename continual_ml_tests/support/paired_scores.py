"""Paired per-row scores of two models on the same rows, as the shadow gate stores them."""

from datetime import date

import numpy as np
import pandas as pd

from continual_ml.warehouse.shadow_scores import record_scores

ROWS_PER_DAY = 400


def paired_days(conn, better, worse, days, gap, seed=0, discordant=0.10):
    """Each day's rows: a share `discordant` right for one model only, `gap` more of them for
    `better` than for `worse`; the rest right (85%) or wrong for both."""
    for day in days:
        draw = np.random.default_rng(seed + day).random(ROWS_PER_DAY)
        only_better = draw < (discordant + gap) / 2
        only_worse = (draw >= (discordant + gap) / 2) & (draw < discordant)
        both = draw >= discordant + (1 - discordant) * 0.15
        frame = day_frame(day)
        for model, right in ((worse, only_worse | both), (better, only_better | both)):
            rows = frame.assign(score=right.astype(float), correct=right)
            record_scores(conn, model["version"], "accuracy", rows)


def day_frame(day: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_id": [f"d{day}-{i}" for i in range(ROWS_PER_DAY)],
            "partition_date": date(2026, 1, day),
        }
    )
