"""What pooling refusals costs and buys: the gate's promotions against one champion, simulated.

Each trial is a champion and up to `candidates` challengers in a row, each judged on a holdout
of its own (`holdout_rows` rows, `discordant` of them right for one model only). A challenger's
true accuracy gain over the champion is `gain` (0: no better, so any promotion is a false one).
The same verdicts (`promotion_gate.evaluate_gate`, the real gate with its bootstrap) go through
two policies side by side: the gate alone, and the gate pooling each refusal with up to
`pooled` earlier refusals against the same champion (`pool_refusals`, as the gate check does).
A trial ends at the first promotion. Reports, per gain and holdout size, the share of trials
with a promotion and the mean number of challengers it took.

    python -m benchmarks.gate_error_rates --trials 400
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.stamp import stamp
from continual_ml.decisions.gate import GateResult, GateSettings, evaluate_gate
from continual_ml.decisions.gate_pooling import pool_refusals

RESULTS = Path(__file__).parent / "results" / "gate_error_rates.json"
GAINS = (0.0, 0.01, 0.02)
HOLDOUT_ROWS = (600, 1500)  # the demo's holdout, and the continual-learning benchmark's


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
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"stamp": stamp(), **report}, indent=2))
    return report


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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    print("| holdout rows | true gain | promoted, gate alone | promoted, pooled |")
    print("|---:|---:|---:|---:|")
    run(
        arguments.trials,
        arguments.candidates,
        arguments.pooled,
        seed=arguments.seed,
        output=arguments.out,
    )


if __name__ == "__main__":
    main()
