"""The candidate training windows `init --from` drafts, from the rows a day the sample holds."""

from __future__ import annotations

# Window lengths a draft picks from, in days.
LADDER = (1, 3, 7, 14, 30, 90, 180, 365)
DRAFT_MIN_ROWS = 1000  # a floor most models learn something from; a person tunes it
DRAFT_VALIDATION_ROWS = 500


def draft_training_window(rows_per_day: float | None) -> dict:
    """`training_window` for data arriving at `rows_per_day`: the shortest window holding
    `DRAFT_MIN_ROWS`, up to two longer ones each at least three times as long, and all history.

    >>> draft_training_window(165)["candidates_days"]
    [7, 30, 90, 'all']
    >>> draft_training_window(5000)["candidates_days"]
    [1, 3, 14, 'all']
    >>> draft_training_window(None)["candidates_days"]
    [7, 30, 90, 'all']
    """
    rate = rows_per_day or 0.0
    fitting = [d for d in LADDER if d * rate >= DRAFT_MIN_ROWS]
    if not rate:  # no time column to count days by: a week, and the floor in rows
        candidates = [7]
    else:
        candidates = [fitting[0] if fitting else LADDER[-1]]
    for days in LADDER:
        if days >= 3 * candidates[-1] and len(candidates) < 3:
            candidates.append(days)
    return {
        "candidates_days": [*candidates, "all"],
        "min_rows": DRAFT_MIN_ROWS,
        "validation_rows": DRAFT_VALIDATION_ROWS,
    }


def window_note(rows_per_day: float | None, window: dict) -> str:
    """Why the draft chose these windows, for the person to check."""
    lengths = ", ".join(str(c) for c in window["candidates_days"])
    seen = f"about {rows_per_day:,.0f} rows a day in the sample" if rows_per_day else "no rate"
    return (
        f"training_window: candidates {lengths} days from {seen}; each retrain picks the one "
        f"that best predicts the newest {window['validation_rows']} labelled rows, and no window "
        f"trains on fewer than {window['min_rows']} rows"
    )
