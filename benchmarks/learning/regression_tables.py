"""Prequential tables from a regression replay's per-day record: each strategy's MAE and RMSE
(row-weighted over the days), on all days and from the shift on, the loop's retrains with their
causes and decisions, monitoring's estimate of the error before labels against the error
realized, and the champion's conformal interval coverage on the days it served."""

from __future__ import annotations

import math
from collections import Counter

from benchmarks.learning.arms import ARM_NAMES as CLASSIFICATION_ARM_NAMES
from benchmarks.learning.arms import ARMS
from benchmarks.learning.tables import fits_by_arm

ARM_NAMES = {**CLASSIFICATION_ARM_NAMES, "kept": "champion at the shift, kept"}
RETRAIN_JOB = "retrain_job"
POLICY_SENSOR = "drift_retrain_sensor"


def mae(days: list[dict], arm: str) -> float | None:
    rows = sum(day["rows"] for day in days if arm in day["errors"])
    total = sum(day["errors"][arm]["abs"] for day in days if arm in day["errors"])
    return round(total / rows, 4) if rows else None


def rmse(days: list[dict], arm: str) -> float | None:
    rows = sum(day["rows"] for day in days if arm in day["errors"])
    total = sum(day["errors"][arm]["sq"] for day in days if arm in day["errors"])
    return round(math.sqrt(total / rows), 4) if rows else None


def errors_of(days: list[dict], arms) -> dict:
    return {"mae": {a: mae(days, a) for a in arms}, "rmse": {a: rmse(days, a) for a in arms}}


def retrains(days: list[dict]) -> dict:
    """The retrain runs executed, by day: the policy's with their causes, and the decisions."""
    runs = [
        {"day_index": i, "day": day["day"], **run}
        for i, day in enumerate(days)
        for run in day["runs"]
        if run["job"] == RETRAIN_JOB
    ]
    decisions = [d for run in runs for d in run["decisions"]]
    policy = [run for run in runs if run["sensor"] == POLICY_SENSOR]
    return {
        "requested": len(runs),
        "requested_by_policy": len(policy),
        "promoted": decisions.count("promoted"),
        "refused": decisions.count("rejected"),
        "decisions": dict(Counter(decisions)),
        "causes": dict(Counter(c for run in policy for c in run.get("causes", []))),
        "policy_retrain_days": [run["day_index"] for run in policy],
        "runs": [
            {
                k: run.get(k)
                for k in ("day_index", "day", "partition", "sensor", "causes", "decisions")
            }
            | {"reasons": [r[:300] for r in run.get("reasons", [])]}
            for run in runs
        ],
    }


def estimate_error(days: list[dict], performance: list[dict] | None) -> dict:
    """Monitoring's estimated MAE (as recorded when the day was monitored, before its labels,
    else the table's) against the MAE realized once labels landed: the mean absolute gap per
    day. None where monitoring does not measure a regression day's error."""
    if performance is None:
        return {"days": 0, "mean_abs_error": None, "source": "no regression_performance table"}
    table = {row["partition_date"]: row for row in performance}
    gaps = []
    for day in days:
        row = table.get(day["day"], {})
        estimated = day["monitored"].get("estimated_mae", row.get("estimated_mae"))
        realized = row.get("realized_mae")
        if estimated is not None and realized is not None:
            gaps.append({"day": day["day"], "estimated": estimated, "realized": realized})
    within = [row.get("estimate_within_tolerance") for row in performance]
    return {
        "days": len(gaps),
        "mean_abs_error": (
            round(sum(abs(g["estimated"] - g["realized"]) for g in gaps) / len(gaps), 4)
            if gaps
            else None
        ),
        "mean_realized_mae": (
            round(sum(g["realized"] for g in gaps) / len(gaps), 4) if gaps else None
        ),
        "days_within_tolerance": sum(w is True for w in within),
        "per_day": gaps,
        "source": "regression_performance",
    }


def coverage(days: list[dict], performance: list[dict] | None) -> dict:
    """The champion's interval coverage on the served days: as monitoring measured it on the
    labelled rows (`regression_performance`), and as this benchmark counts it on every row."""
    own = [d for d in days if d["interval"]["covered"] is not None]
    level = own[0]["interval"]["level"] if own else None
    measured = [
        row
        for row in performance or []
        if row.get("interval_coverage") is not None and row.get("interval_rows")
    ]
    rows = sum(row["interval_rows"] for row in measured)
    return {
        "level": level,
        "monitoring": (
            round(sum(r["interval_coverage"] * r["interval_rows"] for r in measured) / rows, 4)
            if rows
            else None
        ),
        "monitoring_rows": rows,
        "benchmark": _own_coverage(own),
        "benchmark_rows": sum(d["rows"] for d in own),
    }


def _own_coverage(days: list[dict]) -> float | None:
    rows = sum(d["rows"] for d in days)
    return round(sum(d["interval"]["covered"] for d in days) / rows, 4) if rows else None


def summarise(result: dict) -> dict:
    days, settings, fits = result["days"], result["settings"], result["fits"]
    performance = result["warehouse"].get("regression_performance")
    summary = {
        "days": len(days),
        "rows": sum(day["rows"] for day in days),
        "all_days": errors_of(days, ARMS),
        "retrains": retrains(days),
        "champion_changes": len({day["champion"] for day in days}) - 1,
        "daily_retrains": sum(day["daily_retrained"] for day in days),
        "fits": fits_by_arm(fits),
        "estimate_before_labels": estimate_error(days, performance),
        "interval_coverage": coverage(days, performance),
    }
    if settings["shift_days"]:
        shift = settings["shift_days"][0]
        summary["after_shift"] = {
            "shift_day": days[shift]["day"],
            "days": len(days) - shift,
            **errors_of(days[shift:], (*ARMS, "kept")),
        }
        summary["interval_coverage"]["benchmark_before_shift"] = _own_coverage(
            [d for d in days[:shift] if d["interval"]["covered"] is not None]
        )
        summary["interval_coverage"]["benchmark_after_shift"] = _own_coverage(
            [d for d in days[shift:] if d["interval"]["covered"] is not None]
        )
    return summary


def markdown(name: str, summary: dict) -> str:
    """One dataset's table and its notes."""
    after, fits, retrained = summary.get("after_shift"), summary["fits"], summary["retrains"]
    requested = {"loop": retrained["requested"], "daily": summary["daily_retrains"]}
    promoted = {"loop": retrained["promoted"], "daily": summary["daily_retrains"]}
    head = f"| strategy | MAE, all {summary['days']} days | RMSE, all days |"
    head += f" MAE after the shift ({after['days']} days) | RMSE after the shift |" if after else ""
    head += " fits | retrains requested | promoted |"
    lines = [head, "|---|" + "---:|" * (head.count("|") - 2)]
    for arm in (*ARMS, "kept") if after else ARMS:
        cells = [ARM_NAMES[arm]]
        if arm in summary["all_days"]["mae"]:
            cells += [_num(summary["all_days"]["mae"][arm]), _num(summary["all_days"]["rmse"][arm])]
        else:
            cells += ["–", "–"]
        if after:
            cells += [_num(after["mae"][arm]), _num(after["rmse"][arm])]
        cells += [fits.get(arm, "–"), requested.get(arm, 0), promoted.get(arm, 0)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    text = f"\n### {name}: {summary['days']} days, {summary['rows']} rows\n\n" + "\n".join(lines)
    text += (
        f"\n\nloop retrains: {retrained['requested']} requested "
        f"({retrained['requested_by_policy']} by the policy, on replayed days "
        f"{retrained['policy_retrain_days']}), {retrained['promoted']} promoted, "
        f"{retrained['refused']} refused; causes tagged: {retrained['causes'] or 'none'}"
    )
    estimate, covered = summary["estimate_before_labels"], summary["interval_coverage"]
    text += (
        f"\n\nestimate before labels: mean |estimated - realized MAE| = "
        f"{_num(estimate['mean_abs_error'])} over {estimate['days']} days "
        f"(realized MAE {_num(estimate.get('mean_realized_mae'))}); interval coverage at level "
        f"{covered['level']}: monitoring {_num(covered['monitoring'])} "
        f"({covered['monitoring_rows']} labelled rows), benchmark {_num(covered['benchmark'])} "
        f"({covered['benchmark_rows']} rows)"
    )
    if after:
        text += (
            f"; before the shift {_num(covered['benchmark_before_shift'])}, after "
            f"{_num(covered['benchmark_after_shift'])}\n\nshift on {after['shift_day']}"
        )
    return text + "\n"


def _num(value) -> str:
    return "–" if value is None else f"{value:.4f}"
