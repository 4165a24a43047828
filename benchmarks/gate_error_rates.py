"""What pooling refusals costs and buys: the gate's promotions against one champion, simulated.

Each trial is a champion and up to `candidates` challengers in a row, each judged on a holdout
of its own (`holdout_rows` rows, `discordant` of them right for one model only). A challenger's
true accuracy gain over the champion is `gain` (0: no better, so any promotion is a false one).
The same verdicts (`promotion_gate.evaluate_gate`, the real gate with its bootstrap) go through
two policies side by side: the gate alone, and the gate pooling each refusal with up to
`pooled` earlier refusals against the same champion (`pool_refusals`, as the gate check does).
A trial ends at the first promotion. Reports, per gain and holdout size, the share of trials
with a promotion and the mean number of challengers it took.

`run_sequential` measures the gate as it now decides: one challenger kept open and scored in
shadow every day beside the champion (`rows_per_day` new paired rows a day, the first day its
holdout), looked at every day for `days` days with the real decision rule
(`sequential_gate.decision_at` on `confidence_sequence.running_bounds`). Beside it, the naive
alternative: McNemar's fixed-sample test on the accumulated rows, looked at every day. Reports
per gain the share promoted, refused and undecided, and the days to a decision.

    python -m benchmarks.gate_error_rates --trials 400 --sequential-trials 2000
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.stamp import stamp
from continual_ml.decisions.confidence_sequence import running_bounds
from continual_ml.decisions.gate import GateResult, GateSettings, evaluate_gate, mcnemar_from_counts
from continual_ml.decisions.gate_pooling import pool_refusals
from continual_ml.decisions.sequential_gate import SequentialSettings, decision_at

RESULTS = Path(__file__).parent / "results" / "gate_error_rates.json"
GAINS = (0.0, 0.01, 0.02)
HOLDOUT_ROWS = (600, 1500)  # the demo's holdout, and the continual-learning benchmark's
SEQUENTIAL_GAINS = (0.0, 0.01, 0.02, 0.04, -0.02)
ROWS_PER_DAY = (165, 600)  # the loan book of issue 25, and a busier stream


def holdout(rng, rows: int, gain: float, discordant: float):
    """Truth and both models' probabilities on one holdout with the given true gain."""
    draw = rng.random(rows)
    only_candidate = draw < (discordant + gain) / 2
    only_champion = (draw >= (discordant + gain) / 2) & (draw < discordant)
    both = draw >= discordant + (1 - discordant) * 0.15  # the rest: 15% wrong for both
    candidate_right, champion_right = only_candidate | both, only_champion | both
    truth = np.ones(rows, dtype=int)
    return truth, np.where(candidate_right, 0.9, 0.1), np.where(champion_right, 0.9, 0.1)


def first_promotion(verdicts: Sequence[GateResult], pooled: int, gate: GateSettings) -> int | None:
    """The 1-based index of the first challenger promoted, pooling up to `pooled` refusals."""
    refused: list[GateResult] = []
    for index, verdict in enumerate(verdicts, start=1):
        if pooled:
            verdict = pool_refusals(verdict, refused[-pooled:], gate)
        if verdict.passed:
            return index
        refused.append(verdict)
    return None


def run(
    trials: int = 400,
    candidates: int = 6,
    pooled: int = 2,
    discordant: float = 0.10,
    gains: Sequence[float] = GAINS,
    holdout_rows: Sequence[int] = HOLDOUT_ROWS,
    seed: int = 0,
    output: Path | None = RESULTS,
) -> dict:
    gate = GateSettings()
    rng = np.random.default_rng(seed)
    rows = []
    for size in holdout_rows:
        for gain in gains:
            promoted = {"alone": [], "pooled": []}
            for _ in range(trials):
                verdicts = [
                    evaluate_gate(*holdout(rng, size, gain, discordant), gate)
                    for _ in range(candidates)
                ]
                promoted["alone"].append(first_promotion(verdicts, 0, gate))
                promoted["pooled"].append(first_promotion(verdicts, pooled, gate))
            row = {"holdout_rows": size, "gain": gain}
            for policy, firsts in promoted.items():
                hits = [first for first in firsts if first is not None]
                row[f"{policy}_promoted_share"] = len(hits) / trials
                row[f"{policy}_mean_challengers"] = float(np.mean(hits)) if hits else None
            rows.append(row)
            print(line(row), flush=True)
    report = {
        "settings": {
            "trials": trials,
            "candidates": candidates,
            "pooled": pooled,
            "discordant": discordant,
            "alpha": gate.alpha,
            "seed": seed,
        },
        "rows": rows,
    }
    if output is not None:
        write(output, {"fixed_per_challenger": report})
    return report


def paired_differences(rng, rows: int, gain: float, discordant: float) -> np.ndarray:
    """Challenger-correct minus champion-correct per row: +1, -1 on discordant rows, else 0."""
    draw = rng.random(rows)
    return np.where(draw < (discordant + gain) / 2, 1, np.where(draw < discordant, -1, 0))


def sequential_trial(differences: np.ndarray, rows_per_day: int, settings, alpha: float):
    """(decision, day) for the sequential gate and the day the naive daily McNemar promotes."""
    bounds = running_bounds(differences, settings.alpha)
    decided, naive_day = ("undecided", None), None
    for day in range(1, len(differences) // rows_per_day + 1):
        end = day * rows_per_day
        if decided[0] == "undecided":
            decision, _ = decision_at(bounds.lower[end - 1], bounds.upper[end - 1], day, settings)
            decided = (decision, day) if decision != "undecided" else decided
        if naive_day is None:
            seen = differences[:end]
            test = mcnemar_from_counts(int((seen == 1).sum()), int((seen == -1).sum()))
            naive_day = day if test.p_value < alpha and seen.mean() > 0 else None
    return decided, naive_day


def run_sequential(
    trials: int = 2000,
    horizons: Sequence[int] = (30, 60),
    discordant: float = 0.10,
    gains: Sequence[float] = SEQUENTIAL_GAINS,
    rows_per_day: Sequence[int] = ROWS_PER_DAY,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict:
    """The sequential gate looked at every day up to its horizon (`max_days`), against
    McNemar's test on the same accumulated rows looked at every day as long."""
    rows = []
    for days in horizons:
        settings = SequentialSettings(alpha=alpha, max_days=days)
        for per_day in rows_per_day:
            for gain in gains:
                rng = np.random.default_rng([seed, days, per_day, int(round(gain * 1e4)) % 2**31])
                outcomes = [
                    sequential_trial(
                        paired_differences(rng, per_day * days, gain, discordant),
                        per_day,
                        settings,
                        alpha,
                    )
                    for _ in range(trials)
                ]
                rows.append({"days": days, **sequential_row(per_day, gain, trials, outcomes)})
                print(sequential_line(rows[-1]), flush=True)
    defaults = SequentialSettings()
    return {
        "settings": {
            "trials": trials,
            "horizons": list(horizons),
            "discordant": discordant,
            "alpha": alpha,
            "min_effect": defaults.min_effect,
            "margin": defaults.margin,
            "seed": seed,
            "sequence": "PrPl-EB confidence sequence, one-sided, Waudby-Smith & Ramdas 2024",
        },
        "rows": rows,
    }


def sequential_row(per_day: int, gain: float, trials: int, outcomes) -> dict:
    def share(decision: str) -> float:
        return sum(d == decision for (d, _), _ in outcomes) / trials

    def days_to(decision: str):
        found = [day for (d, day), _ in outcomes if d == decision]
        return float(np.median(found)) if found else None

    naive = [day for _, day in outcomes if day is not None]
    return {
        "rows_per_day": per_day,
        "gain": gain,
        "promoted_share": share("better"),
        "refused_share": share("not_better"),
        "undecided_share": share("undecided"),
        "median_days_to_promotion": days_to("better"),
        "median_days_to_refusal": days_to("not_better"),
        "naive_daily_mcnemar_promoted_share": len(naive) / trials,
        "naive_median_days_to_promotion": float(np.median(naive)) if naive else None,
    }


def sequential_line(row: dict) -> str:
    days = row["median_days_to_promotion"]
    return (
        f"| {row['days']} | {row['rows_per_day']} | {row['gain']:+.2f} "
        f"| {row['promoted_share']:.4f}"
        f"{f' (median day {days:g})' if days is not None else ''} | {row['refused_share']:.3f} "
        f"| {row['undecided_share']:.3f} | {row['naive_daily_mcnemar_promoted_share']:.4f} |"
    )


def write(output: Path, parts: dict) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"stamp": stamp(), **parts}, indent=2))


def line(row: dict) -> str:
    def share(policy: str) -> str:
        mean = row[f"{policy}_mean_challengers"]
        after = f" after {mean:.1f}" if mean is not None else ""
        return f"{row[f'{policy}_promoted_share']:.3f}{after}"

    return f"| {row['holdout_rows']} | {row['gain']:+.2f} | {share('alone')} | {share('pooled')} |"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--candidates", type=int, default=6)
    parser.add_argument("--pooled", type=int, default=2)
    parser.add_argument("--sequential-trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    print("| holdout rows | true gain | promoted, gate alone | promoted, pooled |")
    print("|---:|---:|---:|---:|")
    fixed = run(
        arguments.trials, arguments.candidates, arguments.pooled, seed=arguments.seed, output=None
    )
    print(
        "\n| horizon days | rows a day | true gain | promoted (sequential) | refused | undecided "
        "| promoted, McNemar looked at daily |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    sequential = run_sequential(arguments.sequential_trials, seed=arguments.seed)
    write(arguments.out, {"fixed_per_challenger": fixed, "sequential_daily_looks": sequential})


if __name__ == "__main__":
    main()
