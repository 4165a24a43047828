"""Prequential tables from a replay's per-day record: row-weighted accuracy of each strategy on
all days and from the first shift on, its fits, the loop's retrains, and the issue's goal."""

from __future__ import annotations

from collections import Counter

from benchmarks.learning.arms import ARM_NAMES, ARMS

TOLERANCE = 0.005  # "within 0.5 point" of the better baseline
WITHIN_DAYS = 7  # a better champion serving within 7 data days of a shift
FIT_SHARE = 1 / 3  # at most a third of daily retraining's fits


def accuracy(days: list[dict], arm: str) -> float | None:
    """Correct predictions over rows, on the days given (row-weighted)."""
    rows = sum(day["rows"] for day in days if arm in day["correct"])
    correct = sum(day["correct"][arm] for day in days if arm in day["correct"])
    return round(correct / rows, 4) if rows else None


def days_to_better_champion(days: list[dict], shift: int, end: int) -> int | None:
    """Data days from the shift until a champion promoted since is served that beats, over the
    days of [shift, end) it served, the champion in charge at the shift on the same rows."""
    segment = days[shift:end]
    kept = segment[0]["champion"]
    for offset, day in enumerate(segment):
        if day["champion"] == kept:
            continue
        served = [d for d in segment if d["champion"] == day["champion"]]
        if accuracy(served, "loop") > accuracy(served, "kept"):
            return offset
    return None


def better_to_be_had(days: list[dict], shift: int, end: int) -> bool:
    """Whether any strategy found a better model after the shift: retraining every day beat, on
    the days of [shift, end), the champion in charge at the shift. When it did not (a change too
    small for a fresh model to predict better), no champion can be better, and the goal's
    "a better champion within 7 days" asks for nothing."""
    segment = days[shift:end]
    daily, kept = accuracy(segment, "daily"), accuracy(segment, "kept")
    return daily is not None and kept is not None and daily > kept


def summarise(result: dict) -> dict:
    days, settings, fits = result["days"], result["settings"], result["fits"]
    shifts = settings["shift_days"]
    runs = [run for day in days for run in day["runs"]]
    summary = {
        "days": len(days),
        "rows": sum(day["rows"] for day in days),
        "accuracy_all_days": {arm: accuracy(days, arm) for arm in ARMS},
        "retrains_requested": sum(run["job"] == "retrain_job" for run in runs),
        # what asked for each (a run recorded before causes were kept has none)
        "retrain_causes": dict(
            Counter(run.get("causes", "unrecorded") for run in runs if run["job"] == "retrain_job")
        ),
        "promoted": sum(decision == "promoted" for run in runs for decision in run["decisions"]),
        "champion_changes": len({day["champion"] for day in days}) - 1,
        "daily_retrains": sum(day["daily_retrained"] for day in days),
        "fits": fits_by_arm(fits),
    }
    if shifts:
        after = days[shifts[0] :]
        ends = [*shifts[1:], len(days)]
        summary["after_shift"] = {
            "shift_days": [days[s]["day"] for s in shifts],
            "days": len(after),
            "accuracy": {arm: accuracy(after, arm) for arm in (*ARMS, "kept")},
            "days_to_better_champion": [
                days_to_better_champion(days, s, e) for s, e in zip(shifts, ends, strict=True)
            ],
            "better_to_be_had": [
                better_to_be_had(days, s, e) for s, e in zip(shifts, ends, strict=True)
            ],
        }
    summary["goal"] = goal(summary)
    return summary


def goal(summary: dict) -> dict:
    """The issue's goal, each part met or not (None where the dataset has no shift)."""

    def at_or_above_best(accuracies: dict) -> bool:
        best = max(accuracies["static_all"], accuracies["daily"])
        return accuracies["loop"] >= best - TOLERANCE

    after = summary.get("after_shift")
    fits = summary["fits"]
    return {
        "all_days": at_or_above_best(summary["accuracy_all_days"]),
        "after_shift": at_or_above_best(after["accuracy"]) if after else None,
        "fits": fits["loop"] <= fits["daily"] * FIT_SHARE,
        "better_champion_within_7_days": (
            all(
                (d is not None and d <= WITHIN_DAYS) or not had
                for d, had in zip(after["days_to_better_champion"], _had(after), strict=True)
            )
            if after
            else None
        ),
    }


def markdown(name: str, summary: dict) -> str:
    """One dataset's table."""
    after = summary.get("after_shift")
    fits = summary["fits"]
    # every daily fit is served, ungated; a day whose labels brought nothing new is no retrain
    requested = {"loop": summary["retrains_requested"], "daily": summary["daily_retrains"]}
    promoted = {"loop": summary["promoted"], "daily": summary["daily_retrains"]}
    head = f"| strategy | all {summary['days']} days |"
    head += f" after the shift ({after['days']} days) |" if after else ""
    head += " fits | retrains requested | promoted |"
    lines = [head, "|---|---:|" + ("---:|" if after else "") + "---:|---:|---:|"]
    for arm in ARMS:
        cells = [ARM_NAMES[arm], _pct(summary["accuracy_all_days"][arm])]
        if after:
            cells.append(_pct(after["accuracy"][arm]))
        cells += [fits[arm], requested.get(arm, 0), promoted.get(arm, 0)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    text = f"\n### {name}: {summary['days']} days, {summary['rows']} rows\n\n" + "\n".join(lines)
    if after:
        text += (
            f"\n\nshift on {', '.join(after['shift_days'])}; the champion in charge at each shift, "
            f"kept until the next, scored {_pct(after['accuracy']['kept'])}; days from each shift "
            f"to the first better champion served: {shift_days_text(after)}"
        )
    met = {part: ok for part, ok in summary["goal"].items() if ok is not None}
    return text + f"\n\ngoal: {', '.join(f'{k} {_yes(v)}' for k, v in met.items())}\n"


def overview(summaries: dict[str, dict]) -> str:
    """One line per dataset: the loop against the better of the two strongest baselines."""
    lines = [
        "| dataset | loop, all days | better baseline | loop, after the shift | better baseline "
        "| loop fits / daily fits | days to a better champion | goal met |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, summary in summaries.items():
        after = summary.get("after_shift")
        best = _best(summary["accuracy_all_days"])
        cells = [name, _pct(summary["accuracy_all_days"]["loop"]), best]
        cells += [_pct(after["accuracy"]["loop"]), _best(after["accuracy"])] if after else ["–"] * 2
        cells.append(f"{summary['fits']['loop']} / {summary['fits']['daily']}")
        cells.append(shift_days_text(after) if after else "–")
        cells.append(_yes(all(v for v in summary["goal"].values() if v is not None)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _had(after: dict) -> list[bool]:
    # results written before `better_to_be_had` was recorded: every shift had one
    return after.get("better_to_be_had") or [True] * len(after["days_to_better_champion"])


def shift_days_text(after: dict) -> str:
    """Days from each shift to a better champion; "none better" where no strategy found one."""
    days = after["days_to_better_champion"]
    cells = [
        ("none better" if not had else "never" if d is None else str(d))
        for d, had in zip(days, _had(after), strict=True)
    ]
    return " / ".join(cells)


def _best(accuracies: dict) -> str:
    arm = max(("static_all", "daily"), key=lambda a: accuracies[a])
    return f"{_pct(accuracies[arm])} ({'all history' if arm == 'static_all' else 'daily'})"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def fits_by_arm(fits: dict) -> dict:
    """The model fits each arm made (the static first champion's are bootstrap's)."""
    return {
        "loop": fits.get("loop", 0),
        "static_first": fits.get("bootstrap", 0),
        "static_all": fits.get("static_all", 0),
        "daily": fits.get("daily", 0),
    }
